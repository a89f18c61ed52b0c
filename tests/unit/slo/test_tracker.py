"""The tracker end to end in-process: SLIs, counters at 0, label cap, burn rates, budget, reload."""

from pathlib import Path
from types import MappingProxyType

import pytest
from prometheus_client import CollectorRegistry
from slo_fakes import FakeClock

from guardd.events import OutputVerdict, UpstreamOutcome
from guardd.policy.model import Limits, Policy, PolicySet
from guardd.slo.metrics import SLOMetrics
from guardd.slo.spec import SLOSettings, SLOSpec
from guardd.slo.status import budget_remaining, burn_rate
from guardd.slo.tracker import SLOTracker

SLOS = (
    SLOSpec(name="goodput", sli="goodput", objective=0.999),
    SLOSpec(name="availability", sli="availability", objective=0.99),
    SLOSpec(name="latency", sli="latency", objective=0.9, threshold_ms=1000),
    SLOSpec(name="ttft", sli="ttft", objective=0.9, threshold_ms=200),
    SLOSpec(name="hallucination", sli="hallucination_free", objective=0.98),
)


@pytest.fixture
def clock():
    return FakeClock()


def _policies(slos=SLOS, **settings):
    policy = Policy("default", (), (), Limits())
    return PolicySet(
        "v1", MappingProxyType({"default": policy}), ("p.yaml",), Path(), {}, slos, SLOSettings(**settings)
    )


class Harness:
    def __init__(self, clock, policies):
        self.registry = CollectorRegistry()
        self.policies = policies
        self.tracker = SLOTracker(lambda: self.policies, SLOMetrics(self.registry), clock)
        for collector in self.tracker.collectors():
            self.registry.register(collector)

    def outcome(self, request_id="", upstream="openai/gpt-4o", status=200, latency=100.0, ttft=0.0, cost=0.0):
        category = "ok" if status == 200 else "server_error"
        self.tracker.on_outcome(UpstreamOutcome(request_id, upstream, "default", category, latency, ttft, 1, 1, cost))

    def verdict(self, request_id="", upstream="openai/gpt-4o", failures=frozenset()):
        self.tracker.on_output(OutputVerdict(request_id, upstream, "default", frozenset(failures)))

    def count(self, slo, good, upstream="openai/gpt-4o"):
        labels = {"slo": slo, "policy": "default", "upstream": upstream, "good": good}
        return self.registry.get_sample_value("guardd_sli_events_total", labels)

    def status(self, name, upstream="openai/gpt-4o"):
        (status,) = self.tracker.status(name, upstream)
        return status


@pytest.fixture
def harness(clock):
    return Harness(clock, _policies())


def test_the_first_event_of_an_upstream_creates_every_counter_at_0(harness):
    harness.verdict("r1", upstream="anthropic/claude")  # goodput waits for the outcome
    for slo in ("goodput", "availability", "latency", "ttft"):
        assert harness.count(slo, "true", "anthropic/claude") == 0
        assert harness.count(slo, "false", "anthropic/claude") == 0
    assert harness.count("hallucination", "true", "anthropic/claude") == 1


def test_each_sli_counts_its_own_events(harness):
    harness.outcome(latency=500, ttft=50)
    harness.outcome(latency=1500, ttft=300)
    harness.outcome(status=500, latency=20)
    harness.verdict(failures={"hallucination"})
    harness.verdict()
    assert (harness.count("availability", "true"), harness.count("availability", "false")) == (2, 1)
    assert (harness.count("latency", "true"), harness.count("latency", "false")) == (1, 1)  # failures excluded
    assert (harness.count("ttft", "true"), harness.count("ttft", "false")) == (1, 1)
    assert (harness.count("hallucination", "true"), harness.count("hallucination", "false")) == (1, 1)
    # No request ids: each half is its own call.
    assert (harness.count("goodput", "true"), harness.count("goodput", "false")) == (3, 2)


def test_goodput_joins_by_request_id(harness, clock):
    harness.outcome("a")
    harness.verdict("a", failures={"refusal"})
    harness.outcome("b")
    harness.verdict("b")
    harness.outcome("c")  # its validation never comes
    assert (harness.count("goodput", "true"), harness.count("goodput", "false")) == (1, 1)
    clock.advance(31)
    harness.tracker.expire()
    assert (harness.count("goodput", "true"), harness.count("goodput", "false")) == (2, 1)
    assert harness.registry.get_sample_value("guardd_slo_unjoined_total", {"half": "outcome", "reason": "expired"}) == 1


def test_upstream_labels_are_capped_and_the_rest_are_other(clock):
    harness = Harness(clock, _policies(max_upstreams=2))
    for name in ("a", "b", "c", "d"):
        harness.outcome(upstream=name)
    assert harness.count("availability", "true", "b") == 1
    assert harness.count("availability", "true", "other") == 2
    assert harness.count("availability", "true", "c") is None
    assert harness.registry.get_sample_value("guardd_slo_upstream_overflow_total") == 2
    assert harness.tracker.status("availability", "d")[0].upstream == "other"


def test_series_stay_bounded_under_a_million_distinct_upstreams(clock):
    harness = Harness(clock, _policies(max_upstreams=8))
    for index in range(20_000):
        harness.outcome(upstream=f"u{index}")
    assert harness.tracker.series_count == len(SLOS) * 9


# The SRE workbook, table 5-8 (99.9% over 30 days): 14.4x for 1 h spends 2% of the budget,
# 6x for 6 h spends 5%, 1x for 3 d spends 10%.
@pytest.mark.parametrize(
    ("factor", "hours", "budget_spent"), [(14.4, 1, 0.02), (6, 6, 0.05), (3, 24, 0.10), (1, 72, 0.10)]
)
def test_burn_rate_matches_the_workbook(factor, hours, budget_spent):
    assert factor * hours / (30 * 24) == pytest.approx(budget_spent)
    total = 100_000
    bad = round(factor * 0.001 * total)
    assert burn_rate(total - bad, total, 0.001) == pytest.approx(factor)


def test_status_reports_windows_burn_and_budget(clock):
    harness = Harness(clock, _policies())
    for _ in range(990):
        harness.outcome()
    for _ in range(10):
        harness.outcome(status=500)
    status = harness.status("availability")
    assert status.objective == 0.99
    assert status.sli["5m"] == pytest.approx(0.99)
    assert status.burn_rates["1h"] == pytest.approx(1.0)
    assert status.error_budget_remaining == pytest.approx(0.0)
    assert not status.breached
    harness.outcome(status=500)
    assert harness.status("availability").breached


def test_old_events_leave_the_short_windows_but_not_the_period(clock):
    harness = Harness(clock, _policies())
    for _ in range(10):
        harness.outcome(status=500)
    clock.advance(3 * 3600)
    harness.outcome()
    status = harness.status("availability")
    assert status.sli["5m"] == 1.0
    assert status.burn_rates["5m"] == 0
    assert status.sli["6h"] == pytest.approx(1 / 11)
    assert status.error_budget_remaining == pytest.approx(1 - (10 / 11) / 0.01)


def test_a_window_without_events_has_no_sli_and_zero_burn(clock):
    harness = Harness(clock, _policies())
    harness.outcome()
    clock.advance(600)
    status = harness.status("availability")
    assert "5m" not in status.sli
    assert status.burn_rates["5m"] == 0
    assert status.sli["1h"] == 1.0


def test_budget_remaining_is_whole_without_traffic():
    assert budget_remaining(0, 0, 0.01) == 1.0


def test_a_reload_drops_removed_slos_and_keeps_the_rest(clock):
    harness = Harness(clock, _policies())
    harness.outcome()
    harness.policies = _policies((SLOS[1], SLOSpec(name="fresh", sli="availability", objective=0.95)))
    harness.outcome()
    names = {s.name for s in harness.tracker.status()}
    assert names == {"availability", "fresh"}
    assert harness.count("availability", "true") == 2
    assert harness.count("fresh", "true") == 1
    assert harness.count("goodput", "true") is None  # removed from /metrics too


def test_latency_histogram_buckets_include_every_threshold(harness):
    harness.outcome(latency=150, ttft=150)
    bucket = {"policy": "default", "upstream": "openai/gpt-4o", "le": "1.0"}
    assert harness.registry.get_sample_value("guardd_upstream_latency_seconds_bucket", bucket) == 1
    assert harness.registry.get_sample_value("guardd_upstream_ttft_seconds_bucket", {**bucket, "le": "0.2"}) == 1


def test_cost_per_goodput_gauge(harness):
    harness.outcome("a", cost=0.03)
    harness.verdict("a")
    harness.outcome("b", cost=0.01)
    harness.verdict("b", failures={"hallucination"})
    labels = {"policy": "default", "upstream": "openai/gpt-4o"}
    assert harness.registry.get_sample_value("guardd_sli_cost_per_goodput_usd", labels) == pytest.approx(0.04)
    assert harness.registry.get_sample_value("guardd_upstream_cost_usd_total", labels) == pytest.approx(0.04)
