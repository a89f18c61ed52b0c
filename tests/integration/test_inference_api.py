"""Model guardrails through a real `guardd serve`: findings, fail modes, health, metrics, reuse across reloads."""

import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guardd.inference.testing import embedder, pair_classifier, text_classifier
from guardd.v1 import guard_pb2 as pb
from guardd_harness import launch

pytestmark = pytest.mark.integration

WORDS = [
    "paris",
    "is",
    "the",
    "capital",
    "of",
    "france",
    "river",
    "flows",
    "through",
    "city",
    "london",
    "people",
    "made",
    "moon",
    "cheese",
]
CONTEXT = ["Paris is the capital of France.", "The river flows through the city."]

POLICY = """\
version: 1
policies:
  default:
    input:
      - {{name: inj, type: injection, model: cls, on_fail: block, on_error: fail_closed, timeout_ms: 5000}}
    output:
      - {{name: grounded, type: hallucination, model: nli, on_fail: flag, timeout_ms: 5000}}
      - {{name: embedded, type: hallucination, model: emb, numbers: false, on_fail: flag, on_error: fail_open, timeout_ms: 5000,
         without_context: error}}
models:
  cls: {{path: cls/model.onnx, tokenizer: cls/tokenizer.json, task: text-classification, max_batch: {batch}, max_wait_ms: 2}}
  nli: {{path: nli/model.onnx, tokenizer: nli/tokenizer.json, task: pair-classification, max_batch: {batch}}}
  emb: {{path: emb/model.onnx, tokenizer: emb/tokenizer.json, task: embedding}}
"""


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    for name in ("cls", "nli", "emb"):
        (root / name).mkdir()
    text_classifier(root / "cls", WORDS, ["jailbreak"])
    pair_classifier(root / "nli", WORDS)
    embedder(root / "emb", WORDS)
    (root / "policy.yaml").write_text(POLICY.format(batch=8))
    return root


@pytest.fixture(scope="module")
def server(policy_dir):
    proc = launch(policy_dir / "policy.yaml", "--reload-interval", "0.1")
    yield proc
    proc.stop()


def validate(server, stage, text, context=()):
    request = pb.ValidateRequest(stage=stage, text=text, context=list(context))
    return server.stub().Validate(request, timeout=10)


def test_health_is_serving_once_the_models_are_warm(server):
    with server.channel() as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    loaded = [e for e in server.logs if e.get("message") == "model loaded"]
    assert sorted(str(e["model"]) for e in loaded) == ["cls", "emb", "nli"]
    first_serving = next(i for i, e in enumerate(server.logs) if e.get("message") == "guardd serving")
    assert all(server.logs.index(e) < first_serving for e in loaded)


def test_an_unsupported_sentence_is_flagged_with_its_span(server):
    answer = "Paris is the capital of France. London people made moon cheese."
    response = validate(server, pb.STAGE_OUTPUT, answer, CONTEXT)
    assert response.verdict == pb.VERDICT_FLAG
    by_guardrail = {(f.guardrail, f.category): f for f in response.findings}
    finding = by_guardrail["grounded", "hallucination"]
    assert [(s.start, s.end) for s in finding.spans] == [(32, 63)]
    assert finding.score > 0.9
    assert ("embedded", "hallucination") in by_guardrail


def test_a_supported_answer_is_allowed(server):
    response = validate(server, pb.STAGE_OUTPUT, "The river flows through the city.", CONTEXT)
    assert response.verdict == pb.VERDICT_ALLOW
    assert list(response.findings) == []


def test_no_context_is_allowed_or_reported_as_unjudged_never_as_grounded(server):
    response = validate(server, pb.STAGE_OUTPUT, "London people made moon cheese in 1887.")
    # "grounded" allows by default (nothing to judge); "embedded" asks for context and fails open.
    assert [(f.guardrail, f.error) for f in response.findings] == [("embedded", True)]
    assert "no context passages" in response.findings[0].message
    assert response.verdict == pb.VERDICT_ALLOW


def test_the_injection_model_blocks_what_the_rules_miss(server):
    assert validate(server, pb.STAGE_INPUT, "jailbreak jailbreak jailbreak").verdict == pb.VERDICT_BLOCK
    assert validate(server, pb.STAGE_INPUT, "paris is the capital").verdict == pb.VERDICT_ALLOW


def test_a_model_error_applies_the_guardrails_fail_mode(server):
    response = validate(server, pb.STAGE_INPUT, "paris boom tower")
    assert response.verdict == pb.VERDICT_BLOCK  # fail_closed
    (finding,) = response.findings
    assert finding.error
    assert "model inference failed" in finding.message


def test_concurrent_requests_share_batches(server):
    texts = [f"paris {'city ' * i}" for i in range(32)]
    with ThreadPoolExecutor(16) as pool:
        verdicts = list(pool.map(lambda t: validate(server, pb.STAGE_INPUT, t).verdict, texts))
    assert set(verdicts) == {pb.VERDICT_ALLOW}
    metrics = server.metrics_text()
    count = _sample(metrics, 'guardd_inference_batch_size_count{model="cls"}')
    total = _sample(metrics, 'guardd_inference_batch_size_sum{model="cls"}')
    assert total >= 32
    assert count <= total  # never more batches than items
    assert 'guardd_inference_model_info{device="cpu",model="cls",task="text-classification"} 1.0' in metrics


def test_a_reload_that_leaves_a_model_unchanged_reuses_it(server, policy_dir):
    mark = len(server.logs)
    (policy_dir / "policy.yaml").write_text(
        POLICY.format(batch=8).replace("max_wait_ms: 2}", "max_wait_ms: 2}\n# touched")
    )
    server.wait_for_log("policy installed", after=mark)
    reloaded = [e["model"] for e in server.logs[mark:] if e.get("message") == "model loaded"]
    assert reloaded == []
    mark = len(server.logs)
    (policy_dir / "policy.yaml").write_text(POLICY.format(batch=4))
    server.wait_for_log("policy installed", after=mark)
    reloaded = sorted(str(e["model"]) for e in server.logs[mark:] if e.get("message") == "model loaded")
    assert reloaded == ["cls", "nli"]
    assert validate(server, pb.STAGE_INPUT, "paris").verdict == pb.VERDICT_ALLOW


def _sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not exported")


def test_a_bad_model_file_fails_startup_with_its_location(tmp_path):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    policy = tmp_path / "p.yaml"
    policy.write_text(
        textwrap.dedent("""\
        version: 1
        policies: {default: {output: [{name: g, type: hallucination, model: m}]}}
        models:
          m: {path: nope.onnx, tokenizer: nope.json, task: embedding}
        """)
    )
    done = subprocess.run(
        [sys.executable, "-m", "guardd.cli", "serve", "--policy", str(policy), "--grpc-port", "0", "--no-metrics"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{policy}:4:7: models.m.path: model file not found" in done.stderr
