"""The soak command, short: it runs, reports every figure, plots, and sees no errors or RSS growth."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from guardd_harness import ROOT

pytestmark = pytest.mark.integration


def test_short_soak_reports_no_errors_and_flat_rss(tmp_path):
    # 50% rather than 70%: the CI box is shared, and the long run is where the 70% figure comes from.
    command = [sys.executable, str(ROOT / "benchmarks/soak.py"), "--duration", "10", "--warmup", "4"]
    command += ["--interval", "2", "--calibrate", "2", "--fraction", "0.5", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=110, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((tmp_path / "soak.json").read_text())
    summary = report["summary"]
    assert summary["errors"] == 0
    assert summary["calls"] > 0
    assert summary["rss_growth_pct"] < 5
    assert summary["fds_end"] <= summary["fds_start"] + 2
    assert len(report["windows"]) >= 5
    assert (tmp_path / "soak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
