"""The SLO tracker: an ``EventSink`` that turns outcomes and verdicts into SLI events.

Each event is judged by every SLO of its policy, then recorded twice: in a
Prometheus counter (for rules that aggregate the fleet) and in this
process's rolling windows (for ``GetSLOStatus``). SLO definitions are read
from the policy snapshot in force, so a reload takes effect on the next event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client.registry import Collector

from guardd.clock import Clock
from guardd.events import OutputVerdict, UpstreamOutcome
from guardd.policy.model import PolicySet
from guardd.slo.cost import CostWindows
from guardd.slo.join import Joiner, Judged
from guardd.slo.labels import UpstreamLabels
from guardd.slo.metrics import SLOMetrics
from guardd.slo.series import Series, SeriesTable
from guardd.slo.sli import OUTCOME_JUDGES, VERDICT_JUDGES, outcome_is_good, verdict_is_good
from guardd.slo.spec import SLOSpec
from guardd.slo.status import slo_status
from guardd.v1 import guard_pb2 as pb

PolicySource = Callable[[], PolicySet]


@dataclass(frozen=True, slots=True)
class _Plan:
    policies: PolicySet
    by_policy: Mapping[str, tuple[SLOSpec, ...]]


def _plan(policies: PolicySet) -> _Plan:
    by_policy = {name: tuple(s for s in policies.slos if s.applies_to(name)) for name in policies.policies}
    return _Plan(policies, by_policy)


def _same_series(a: SLOSpec, b: SLOSpec) -> bool:
    """Whether windows recorded under ``a`` still mean the same under ``b`` (objectives may change)."""
    return (a.sli, a.period, a.threshold_ms) == (b.sli, b.period, b.threshold_ms)


class SLOTracker:
    """Records SLI events per SLO, policy and upstream; O(1) per event, memory bounded by policy settings."""

    def __init__(self, source: PolicySource, metrics: SLOMetrics, clock: Clock) -> None:
        self._source = source
        self._metrics = metrics
        self._clock = clock
        self._plan: _Plan | None = None
        self._series = SeriesTable()
        self._pairs: set[tuple[str, str]] = set()
        self.labels = UpstreamLabels(64, metrics.overflow.inc)
        self.joiner = Joiner(self._on_judged, metrics.count_unpaired, timeout=30.0, capacity=100_000)
        self.cost = CostWindows(clock)

    def collectors(self) -> tuple[Collector, ...]:
        """What the composition root registers: SLI event counts and cost per goodput, read at scrape time."""
        return (self._series, self.cost)

    def on_outcome(self, outcome: UpstreamOutcome) -> None:
        plan, now = self._current(), self._clock.monotonic()
        upstream = self._admit(plan, outcome.policy, outcome.upstream)
        for slo in plan.by_policy.get(outcome.policy, ()):
            judge = OUTCOME_JUDGES.get(slo.sli)
            good = None if judge is None else judge(slo, outcome)
            if good is not None:
                self._record(slo, outcome.policy, upstream, now, good=good)
        self._observe(outcome, upstream)
        judged = Judged(outcome.policy, upstream, outcome_is_good(outcome))
        self.joiner.offer(outcome.request_id, "outcome", judged, now)

    def on_output(self, verdict: OutputVerdict) -> None:
        plan, now = self._current(), self._clock.monotonic()
        upstream = self._admit(plan, verdict.policy, verdict.upstream)
        for slo in plan.by_policy.get(verdict.policy, ()):
            judge = VERDICT_JUDGES.get(slo.sli)
            good = None if judge is None else judge(slo, verdict)
            if good is not None:
                self._record(slo, verdict.policy, upstream, now, good=good)
        judged = Judged(verdict.policy, upstream, verdict_is_good(verdict))
        self.joiner.offer(verdict.request_id, "verdict", judged, now)

    def expire(self) -> None:
        """Count alone the halves that waited too long; the app calls this every second."""
        self._current()
        self.joiner.expire(self._clock.monotonic())

    def status(self, name: str = "", upstream: str = "") -> list[pb.SLOStatus]:
        """Every series' status, optionally only one SLO or one upstream, in a stable order."""
        self._current()
        now = self._clock.monotonic()
        wanted = self.labels.peek(upstream) if upstream else ""
        return [
            slo_status(series.slo, policy, label, series.counts, now)
            for (slo, policy, label), series in self._series.items()
            if (not name or slo == name) and (not wanted or label == wanted)
        ]

    @property
    def series_count(self) -> int:
        return len(self._series)

    def _observe(self, outcome: UpstreamOutcome, upstream: str) -> None:
        children = self._metrics.children(outcome.policy, upstream)
        if outcome.cost_usd:
            children.cost.inc(outcome.cost_usd)
            self.cost.add_cost(outcome.policy, upstream, outcome.cost_usd)
        if outcome.category != "ok":
            return
        if outcome.latency_ms > 0:
            children.latency.observe(outcome.latency_ms / 1000)
        if outcome.ttft_ms > 0:
            children.ttft.observe(outcome.ttft_ms / 1000)

    def _on_judged(self, judged: Judged) -> None:
        plan, now = self._current(), self._clock.monotonic()
        for slo in plan.by_policy.get(judged.policy, ()):
            if slo.sli == "goodput":
                self._record(slo, judged.policy, judged.upstream, now, good=judged.good)
        if judged.good:
            self.cost.add_good(judged.policy, judged.upstream)

    def _record(self, slo: SLOSpec, policy: str, upstream: str, now: float, *, good: bool) -> None:
        series = self._series.get((slo.name, policy, upstream)) or self._create(slo, policy, upstream)
        series.record(now, good=good)

    def _admit(self, plan: _Plan, policy: str, upstream: str) -> str:
        """The upstream's label; the first event of a (policy, upstream) creates its series at 0."""
        label = self.labels.label(upstream)
        if (policy, label) not in self._pairs:
            self._pairs.add((policy, label))
            for slo in plan.by_policy.get(policy, ()):
                self._create(slo, policy, label)
        return label

    def _create(self, slo: SLOSpec, policy: str, upstream: str) -> Series:
        return self._series.create((slo.name, policy, upstream), slo)

    def _current(self) -> _Plan:
        """The plan for the policy set in force, rebuilt when a reload swapped it."""
        policies = self._source()
        plan = self._plan
        if plan is None or plan.policies is not policies:
            plan = self._install(_plan(policies))
        return plan

    def _install(self, plan: _Plan) -> _Plan:
        settings = plan.policies.slo_settings
        self.labels.resize(settings.max_upstreams)
        self.joiner.timeout, self.joiner.capacity = settings.join_timeout, settings.max_pending
        self._metrics.install(plan.policies.slos)
        self._plan = plan
        self._pairs = {pair for pair in self._pairs if pair[0] in plan.by_policy}
        for key, series in self._series.items():
            name, policy, _ = key
            kept = next((s for s in plan.by_policy.get(policy, ()) if s.name == name), None)
            if kept is not None and _same_series(series.slo, kept):
                series.slo = kept
            else:
                self._series.drop(key)
        for policy, upstream in self._pairs:
            for slo in plan.by_policy.get(policy, ()):
                if (slo.name, policy, upstream) not in self._series:
                    self._create(slo, policy, upstream)
        return plan
