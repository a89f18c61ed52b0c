"""A process tree's RSS and fds from /proc, and a gauge read from Prometheus text."""

from __future__ import annotations

import os
from pathlib import Path


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (guardd's PII workers are child processes)."""
    pids, index = [pid], 0
    while index < len(pids):
        pids += _children(pids[index])
        index += 1
    return pids


def rss_bytes(pid: int) -> int:
    """Resident set size of the process tree."""
    total = 0
    for member in tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def fd_count(pid: int) -> int:
    """Open file descriptors of the main process."""
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def loop_lag(metrics: str, name: str = "guardd_event_loop_lag_seconds") -> float:
    """The value of an unlabelled gauge in Prometheus text."""
    for line in metrics.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds one process has used so far (a gone process counts 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
