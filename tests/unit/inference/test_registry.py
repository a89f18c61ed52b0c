"""Loading models from policy: reuse across reloads, and every load error located in `guardd check`."""

import asyncio
import hashlib
import shutil
import textwrap

import numpy as np
import pytest
from inference_fixtures import build_tiny_models, load, model_config, new_registry, policy_with

from guardd.cli import main
from guardd.errors import PolicyError
from guardd.inference.registry import DEFAULT_THREADS
from guardd.inference.session import SHRINK_ABOVE_TOKENS, OnnxSession, usable_cpus
from guardd.inference.testing import write_tokenizer


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_tiny_models(root)
    return root


def check(capsys, policy):
    code = main(["check", str(policy)])
    return code, capsys.readouterr().out


def write_policy(path, models_yaml, guardrail="{name: grounded, type: hallucination, model: nli}"):
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        policies:
          default:
            output:
              - {guardrail}
        models:
        {textwrap.indent(models_yaml, "  ")}
        """)
    )
    return path


def test_unchanged_models_are_reused_across_loads_and_changed_ones_reloaded(models_dir):
    registry = new_registry()
    first = load(models_dir, {"a": model_config("pair", "pair-classification")}, registry)
    again = load(models_dir, {"a": model_config("pair", "pair-classification")}, registry)
    changed = load(models_dir, {"a": model_config("pair", "pair-classification", max_batch=3)}, registry)
    assert again["a"] is first["a"]
    assert changed["a"] is not first["a"]
    assert changed["a"].batcher.policy.max_batch == 3


def test_a_rewritten_model_file_is_loaded_afresh(tmp_path, models_dir):
    shutil.copytree(models_dir / "pair", tmp_path / "pair")
    registry = new_registry()
    config = {"a": model_config("pair", "pair-classification")}
    first = load(tmp_path, config, registry)
    (tmp_path / "pair" / "model.onnx").write_bytes((models_dir / "pair" / "model.onnx").read_bytes())
    assert load(tmp_path, config, registry)["a"] is not first["a"]


def test_a_loaded_model_reports_its_device_and_digest(models_dir):
    model = load(models_dir, {"a": model_config("embedder", "embedding")})["a"]
    digest = hashlib.sha256((models_dir / "embedder" / "model.onnx").read_bytes()).hexdigest()
    assert model.sha256 == digest
    assert model.device == "cpu"


def test_concurrency_auto_runs_one_batch_per_usable_cpu(models_dir):
    auto = load(models_dir, {"a": model_config("embedder", "embedding", intra_op_threads=1, concurrency="auto")})
    assert auto["a"].batcher.policy.concurrency == min(usable_cpus(), DEFAULT_THREADS)
    assert load(models_dir, {"a": model_config("embedder", "embedding")})["a"].batcher.policy.concurrency == 1


class _RecordingSession:
    """The real ORT session, remembering whether each run was told to give its arena back."""

    def __init__(self, session):
        self.session = session
        self.shrank: list[bool] = []

    def run(self, outputs, feeds, options):
        try:
            self.shrank.append(options.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0")
        except RuntimeError:  # ORT raises for an entry that was never set
            self.shrank.append(False)
        return self.session.run(outputs, feeds, options)


def test_only_runs_past_the_token_bound_give_their_arena_back(models_dir):
    session = OnnxSession(models_dir / "classifier" / "model.onnx", model_config("classifier", "text-classification"))
    recorder = _RecordingSession(session._session)
    session._session = recorder

    def run(batch, tokens):
        ids = np.full((batch, tokens), 5, dtype=np.int64)
        return session.run({"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids})

    small, large = run(2, 8), run(SHRINK_ABOVE_TOKENS // 64 + 1, 64)
    assert recorder.shrank == [False, True]
    assert np.allclose(small[0], large[0])  # same input row, same scores either way


def test_a_valid_models_section_passes_check(tmp_path, models_dir, capsys):
    shutil.copytree(models_dir, tmp_path / "m")
    policy = write_policy(
        tmp_path / "p.yaml",
        "nli: {path: m/pair/model.onnx, tokenizer: m/pair/tokenizer.json, task: pair-classification}",
    )
    code, out = check(capsys, policy)
    assert (code, out.splitlines()[0][:3]) == (0, "ok:")


PAIR = "path: m/pair/model.onnx, tokenizer: m/pair/tokenizer.json"


@pytest.mark.parametrize(
    ("entry", "at", "message"),
    [
        (
            "nli: {path: m/missing.onnx, tokenizer: m/pair/tokenizer.json, task: pair-classification}",
            "path",
            "models.nli.path: model file not found",
        ),
        (
            "nli: {path: m/pair/model.onnx, tokenizer: m/nope.json, task: pair-classification}",
            "tokenizer",
            "models.nli.tokenizer: tokenizer file not found",
        ),
        (f"nli: {{{PAIR}, task: pair-classification, sha256: {'ab' * 32}}}", "sha256", "but the policy pins abab"),
        (
            f"nli: {{{PAIR}, task: pair-classification, inputs: {{input_ids: ids}}}}",
            "path",
            "declared ['input_ids: ids'] not found",
        ),
        (
            "nli: {path: m/classifier/model.onnx, tokenizer: m/classifier/tokenizer.json, task: embedding, inputs: {input_ids: input_ids}}",
            "path",
            "model inputs ['attention_mask'] would not be fed",
        ),
        (
            f"nli: {{{PAIR}, task: pair-classification, labels: [a, b, c]}}",
            "path",
            "output has 2 column(s) but labels are ['a', 'b', 'c']",
        ),
        (f"nli: {{{PAIR}, task: embedding, output: nope}}", "path", "model has no output 'nope'"),
        (
            f"nli: {{{PAIR}, task: text-classification, device: cuda}}",
            "path",
            "device: cuda, but this onnxruntime has no CUDA provider",
        ),
        (f"Bad: {{{PAIR}, task: embedding}}", "Bad", "model name must match"),
        (
            f"nli: {{{PAIR}, task: embedding, concurrency: many}}",
            "concurrency",
            "must be 'auto' (one per CPU) or a whole number from 1 to 16, not 'many'",
        ),
    ],
)
def test_model_errors_are_located_in_check(tmp_path, models_dir, capsys, entry, at, message):
    shutil.copytree(models_dir, tmp_path / "m")
    policy = write_policy(tmp_path / "p.yaml", entry)
    line = policy.read_text().splitlines()[6]
    column = line.index(at) + 1
    code, out = check(capsys, policy)
    assert code == 1
    assert any(row.startswith(f"{policy}:7:{column}: ") and message in row for row in out.splitlines()), out


@pytest.mark.parametrize(
    ("guardrail", "message"),
    [
        ("{name: grounded, type: hallucination, model: other}", "unknown model 'other'; models in this policy: nli"),
        (
            "{name: grounded, type: hallucination, model: nli, mode: grounding}",
            "mode grounding needs a embedding model",
        ),
        ("{name: grounded, type: hallucination, model: nli, supported_label: entailment}", "has no label 'entailment'"),
        (
            "{name: inj, type: injection, model: nli}",
            "has task pair-classification; this guardrail needs text-classification",
        ),
    ],
)
def test_guardrails_naming_a_wrong_model_fail_check_at_their_entry(tmp_path, models_dir, capsys, guardrail, message):
    shutil.copytree(models_dir, tmp_path / "m")
    entry = "nli: {path: m/pair/model.onnx, tokenizer: m/pair/tokenizer.json, task: pair-classification}"
    policy = write_policy(tmp_path / "p.yaml", entry, guardrail)
    code, out = check(capsys, policy)
    assert code == 1
    assert f"{policy}:5:9: " in out
    assert message in out


def test_a_corrupt_model_file_is_a_load_error(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    write_tokenizer(tmp_path / "tokenizer.json", ["a"])
    with pytest.raises(PolicyError) as error:
        load(tmp_path, {"x": model_config(".", "embedding")})
    assert "models.x.path: cannot load model" in str(error.value)


def test_an_unchanged_reload_does_not_warm_again(models_dir):
    registry = new_registry()
    config = {"a": model_config("classifier", "text-classification")}
    first = load(models_dir, config, registry)
    calls = []
    runner = first["a"].batcher.runner
    first["a"].batcher.runner = lambda items: calls.append(items) or runner(items)
    second = registry.load(policy_with(models_dir, config))
    assert second["a"] is first["a"]
    assert calls == []

    async def infer():
        return await second["a"].infer(["paris"])

    assert len(asyncio.run(infer())) == 1
    assert calls == [["paris"]]
