"""Burn rates and error budgets from window counts: the arithmetic of the SRE workbook.

burn rate = error rate / error budget, where error budget = 1 - objective.
A burn rate of 1 spends exactly the budget over the period; 14.4 over 1 h
spends 2% of a 30-day budget (14.4 x 1 h / 720 h).
"""

from __future__ import annotations

from guardd.slo.spec import SLOSpec
from guardd.slo.window import WINDOWS, RollingCounts
from guardd.v1 import guard_pb2 as pb


def burn_rate(good: int, total: int, budget: float) -> float:
    """How fast the window spends the budget; 0 without events (no traffic burns nothing)."""
    if total == 0:
        return 0.0
    return ((total - good) / total) / budget


def budget_remaining(good: int, total: int, budget: float) -> float:
    """Share of the period's error budget left: 1 untouched, 0 spent, below 0 overspent."""
    return 1.0 - burn_rate(good, total, budget)


def slo_status(slo: SLOSpec, policy: str, upstream: str, counts: RollingCounts, now: float) -> pb.SLOStatus:
    """One series' status; a window without events has no SLI entry (there is no ratio to report)."""
    status = pb.SLOStatus(name=slo.name, upstream=upstream, policy=policy, objective=slo.objective)
    for window, seconds in WINDOWS.items():
        good, total = counts.window(now, seconds)
        if total:
            status.sli[window] = good / total
        status.burn_rates[window] = burn_rate(good, total, slo.error_budget)
    good, total = counts.period(now)
    status.error_budget_remaining = budget_remaining(good, total, slo.error_budget)
    status.breached = status.error_budget_remaining < 0
    return status
