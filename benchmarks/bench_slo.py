"""SLO recording cost per event, and memory after 10^6 events across 100 upstreams.

    .venv/bin/python benchmarks/bench_slo.py [--events 1000000 --upstreams 100 --rounds 3]

Feeds the real SLOTracker (policies/default.yaml's SLOs plus hallucination and
ttft) with LLM calls as a service reports them: ReportOutcome then the OUTPUT
verdict, joined by request_id, 5% of calls bad, upstreams round-robin, a fake
clock stepping 1 ms per call so windows rotate as in production. Baseline, in
the same run: one labelled prometheus_client Counter.inc() per event, the
least any exporter pays. Memory is tracemalloc's count of what the tracker
holds after the run (a separate pass: tracing slows the timed one).
Results: stdout and benchmarks/out/slo.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from guardd.events import OutputVerdict, UpstreamOutcome
from guardd.policy.loader import load_policy
from guardd.slo.metrics import SLOMetrics
from guardd.slo.spec import SLOSettings, SLOSpec
from guardd.slo.tracker import SLOTracker

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
EXTRA = (
    SLOSpec(name="hallucination", sli="hallucination_free", objective=0.98),
    SLOSpec(name="ttft", sli="ttft", objective=0.95, threshold_ms=500),
)


@dataclass
class StepClock:
    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now


def _tracker(clock: StepClock, upstreams: int) -> SLOTracker:
    base = load_policy(ROOT / "policies/default.yaml")
    settings = SLOSettings(max_upstreams=max(upstreams, 64))
    policies = dataclasses.replace(base, slos=base.slos + EXTRA, slo_settings=settings)
    return SLOTracker(lambda: policies, SLOMetrics(CollectorRegistry()), clock)


def _calls(count: int, upstreams: int) -> list[tuple[UpstreamOutcome, OutputVerdict]]:
    names = [f"provider/model-{i}" for i in range(upstreams)]
    calls = []
    for i in range(count):
        upstream, bad = names[i % upstreams], i % 20 == 0
        outcome = UpstreamOutcome(
            f"r{i}", upstream, "default", "server_error" if bad else "ok", 800.0, 120.0, 500, 200, 0.002
        )
        failures = frozenset({"hallucination"}) if i % 20 == 10 else frozenset()
        calls.append((outcome, OutputVerdict(f"r{i}", upstream, "default", failures)))
    return calls


def _run(tracker: SLOTracker, clock: StepClock, calls: list[tuple[UpstreamOutcome, OutputVerdict]]) -> float:
    start = time.perf_counter()
    for outcome, verdict in calls:
        clock.now += 0.001
        tracker.on_outcome(outcome)
        tracker.on_output(verdict)
    return time.perf_counter() - start


def _baseline(events: int, upstreams: int) -> float:
    counter = Counter("bench_events", "", ["upstream", "good"], registry=CollectorRegistry())
    children = [counter.labels(f"provider/model-{i}", "true") for i in range(upstreams)]
    start = time.perf_counter()
    for i in range(events):
        children[i % upstreams].inc()
    return time.perf_counter() - start


def _memory(calls: list[tuple[UpstreamOutcome, OutputVerdict]], upstreams: int) -> tuple[int, int]:
    clock = StepClock()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracker = _tracker(clock, upstreams)
        _run(tracker, clock, calls)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return held, tracker.series_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events (two per call)")
    parser.add_argument("--upstreams", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    calls = _calls(args.events // 2, args.upstreams)
    tracker_ns, baseline_ns = [], []
    for _ in range(args.rounds):
        clock = StepClock()
        tracker_ns.append(_run(_tracker(clock, args.upstreams), clock, calls) / args.events * 1e9)
        baseline_ns.append(_baseline(args.events, args.upstreams) / args.events * 1e9)
    held, series = _memory(calls, args.upstreams)
    result = {
        "events": args.events,
        "upstreams": args.upstreams,
        "slos": 6,
        "series": series,
        "tracker_ns_per_event_median": round(statistics.median(tracker_ns)),
        "baseline_counter_inc_ns_median": round(statistics.median(baseline_ns)),
        "tracker_memory_mib": round(held / 2**20, 1),
        "memory_per_series_kib": round(held / series / 1024, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "slo.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
