"""Shared fixtures: real guardd processes on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guardd_harness import ROOT, GuarddProcess, launch


@pytest.fixture
def guardd() -> Iterator[Callable[..., GuarddProcess]]:
    """Factory: ``guardd(policy_path, *flags)`` starts a server that is stopped after the test."""
    started: list[GuarddProcess] = []

    def start(policy: Path, *args: str) -> GuarddProcess:
        proc = launch(policy, *args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.close()


@pytest.fixture(scope="module")
def default_guardd() -> Iterator[GuarddProcess]:
    """One server on policies/default.yaml shared by a test module."""
    proc = launch(ROOT / "policies/default.yaml")
    yield proc
    proc.stop()
