"""The circuits: and store: sections: parsed into frozen models, errors located at file:line:col."""

import pytest

from guardd.circuit.config import CircuitsConfig, StoreConfig, parse_duration
from guardd.errors import PolicyError
from guardd.policy.loader import load_policy

HEAD = "version: 1\npolicies:\n  default: {}\n"


@pytest.mark.parametrize(("text", "seconds"), [("250ms", 0.25), ("30s", 30), ("5m", 300), ("1h", 3600), (2, 2.0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "-1s", 0, True])
def test_bad_durations(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_a_full_section_loads(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        HEAD
        + "circuits:\n"
        + "  default: {window: 100, min_calls: 20, thresholds: {hard: 0.5, hallucination: 0.05, refusal: 0.2}, open_for: 30s, half_open_calls: 5}\n"
        + "  upstreams:\n    openai/gpt-4o: {min_calls: 50, backoff: 2}\n"
        + "store: redis://127.0.0.1:6379/0\n"
    )
    policies = load_policy(path)
    assert policies.circuits.for_upstream("openai/gpt-4o").min_calls == 50
    assert policies.circuits.for_upstream("openai/gpt-4o").thresholds["refusal"] == 0.2
    assert policies.circuits.for_upstream("other").backoff == 1.0
    assert (policies.store.kind, policies.store.prefix) == ("redis", "guardd")


def test_defaults_are_memory_and_on():
    assert StoreConfig().kind == "memory"
    assert CircuitsConfig().enabled


@pytest.mark.parametrize(
    ("section", "line", "message"),
    [
        (
            "circuits:\n  default: {thresholds: {hallucinations: 0.1}}\n",
            5,
            "circuits.default.thresholds: unknown failure category 'hallucinations'",
        ),
        (
            "circuits:\n  upstreams:\n    a/b:\n      open_for: soon\n",
            7,
            "circuits.upstreams.a/b.open_for: invalid duration 'soon'",
        ),
        ("circuits:\n  default: {half_open_calls: 0}\n", 5, "circuits.default.half_open_calls"),
        ("circuits:\n  max_upstream: 10\n", 5, "unknown field 'max_upstream'"),
        ("store: {url: postgres://x, prefix: a}\n", 4, "store.url: store must be 'memory' or a redis:// URL"),
        ("store: {on_store_down: deny}\n", 4, "store.on_store_down"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, section, line, message):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + section)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    rendered = [str(d) for d in caught.value.diagnostics]
    assert any(d.startswith(f"{path}:{line}:") and message in d for d in rendered), rendered
