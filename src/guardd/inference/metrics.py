"""Per-model batching and inference metrics; the ``model`` label comes from policy names only."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from guardd.inference.batcher import BatchObserver

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
RUN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class InferenceMetrics:
    """Histograms and counters of every model, registered on the App's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.batch_size = Histogram(
            "guardd_inference_batch_size",
            "Items per closed batch.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "guardd_inference_queue_wait_seconds",
            "Time an item waited for its batch to close.",
            ["model"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "guardd_inference_duration_seconds",
            "Time one batch took in its thread: tokenising, padding and session.run.",
            ["model"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "guardd_inference_failures", "Batches whose inference raised.", ["model"], registry=registry
        )
        self.info = Gauge(
            "guardd_inference_model_info",
            "Models loaded (value 1), with the device their session runs on.",
            ["model", "task", "device"],
            registry=registry,
        )

    def observer(self, model: str, task: str, device: str) -> BatchObserver:
        """Create ``model``'s series at 0 and return the hooks its batcher calls."""
        self.info.labels(model, task, device).set(1)
        self.failures.labels(model)
        return _ModelObserver(self, model)

    def forget(self, model: str, task: str, device: str) -> None:
        """A model left the policy: stop reporting it as loaded."""
        self.info.remove(model, task, device)


class _ModelObserver(BatchObserver):
    def __init__(self, metrics: InferenceMetrics, model: str) -> None:
        self._size = metrics.batch_size.labels(model)
        self._wait = metrics.queue_wait.labels(model)
        self._run = metrics.duration.labels(model)
        self._failures = metrics.failures.labels(model)

    def batch(self, size: int, waits: Sequence[float]) -> None:
        self._size.observe(size)
        for wait in waits:
            self._wait.observe(wait)

    def ran(self, seconds: float, *, failed: bool) -> None:
        self._run.observe(seconds)
        if failed:
            self._failures.inc()
