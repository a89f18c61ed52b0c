"""The chaos suite (benchmarks/chaos/run.py) passes every scenario against real guardd processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from guardd_harness import ROOT

pytestmark = pytest.mark.integration

SCENARIOS = {
    "provider-outage",
    "latency-injection",
    "response-corruption",
    "injection-barrage",
    "cost-explosion",
    "redis-loss",
    "bad-policy-push",
}


def test_every_chaos_scenario_passes(tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks/chaos/run.py"), "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=110, check=False)
    results = json.loads((tmp_path / "chaos.json").read_text())
    assert {r["scenario"] for r in results} == SCENARIOS
    failed = [r for r in results if not r["passed"]]
    assert not failed, failed
    assert result.returncode == 0, result.stdout[-3000:]
