"""ONNX Runtime models shared by every request, behind a cross-request micro-batcher.

``ModelRegistry`` (owned by the composition root) loads each model of a policy
once, warms it and keeps it across reloads while its file and settings are
unchanged. Guardrails receive ``Model`` handles through ``BuildEnv.models``
and call ``await model.infer(items)``; the ``MicroBatcher`` behind each model
gathers items from concurrent requests into batches that run in a bounded
thread executor, never on the event loop.
"""
