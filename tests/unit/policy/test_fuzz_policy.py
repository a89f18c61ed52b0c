"""Policy YAML mutation fuzzing: a mutated example either loads or fails as ``PolicyError``; a bad one never replaces a good one.

CI runs a bounded number of examples; a long run: ``GUARDD_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/unit/policy/test_fuzz_policy.py``.
"""

from __future__ import annotations

import asyncio
import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from guardd.app import InstalledPolicies
from guardd.errors import PolicyError
from guardd.policy.holder import SnapshotHolder
from guardd.policy.loader import load_policy
from guardd.policy.reload import PolicyReloader
from guardd.telemetry.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = [ROOT / "policies/default.yaml", *sorted((ROOT / "policies/examples").glob("*.yaml"))]
DOCS = {path.name: yaml.safe_load(path.read_text()) for path in EXAMPLES}
RAW = {path.name: path.read_text() for path in EXAMPLES}
EXAMPLES_PER_TEST = int(os.environ.get("GUARDD_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES_PER_TEST, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["block", "modify", "flag", "fail_open", "injection", "pii", "schema", "30d", "-1s", "0", "∞"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


def _mutate(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "add-key" and isinstance(parent, dict):
        parent[f"{last}_x"] = value
    else:
        parent[last] = value
    return doc


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(DOCS)))
    if draw(st.booleans()):  # structural: change, delete or add one node of the parsed document
        doc = DOCS[name]
        path = draw(st.sampled_from(_paths(doc)))
        how = draw(st.sampled_from(["replace", "delete", "add-key"]))
        return yaml.safe_dump(_mutate(doc, path, how, draw(values)), allow_unicode=True)
    raw = RAW[name]  # textual: splice random characters into the YAML source
    start = draw(st.integers(0, len(raw)))
    end = draw(st.integers(start, min(len(raw), start + 40)))
    return raw[:start] + draw(st.text(max_size=20)) + raw[end:]


def _write(text: str) -> Path:
    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8")  # noqa: SIM115
    with handle:
        handle.write(text)
    return Path(handle.name)


@FUZZ
@given(mutated_yaml())
def test_a_mutated_policy_loads_or_raises_policy_error(text):
    path = _write(text)
    diagnostics = None
    try:
        load_policy(path)
    except PolicyError as exc:  # failing is allowed; failing any other way is not
        diagnostics = exc.diagnostics
    finally:
        path.unlink()
    if diagnostics is not None:
        assert diagnostics, "a PolicyError must say what is wrong"
        assert all(d.message for d in diagnostics)


@FUZZ
@given(mutated_yaml())
def test_a_bad_policy_never_replaces_a_good_one(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        # The default policy's shipped models are relative to policies/ (../models/*): point there from tmp.
        path.write_text(RAW["default.yaml"].replace("../models/", f"{ROOT}/models/"), encoding="utf-8")
        source = InstalledPolicies(path, SnapshotHolder(), Metrics(CollectorRegistry()))
        source.install(source.load())
        good = source.version
        path.write_text(text, encoding="utf-8")
        reloaded = asyncio.run(PolicyReloader(path, source, source.metrics).reload("fuzz"))
        try:
            expected = load_policy(path).version
        except PolicyError:
            expected = None
        if expected is None:
            assert not reloaded
            assert source.version == good
        else:
            assert source.version == (expected if reloaded else good)
