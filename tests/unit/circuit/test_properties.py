"""The engine (memory store) against a plain reference model of resilience4j's state machine."""

import asyncio
from collections import deque
from dataclasses import dataclass, field

from circuit_fakes import make_harness
from hypothesis import given, settings
from hypothesis import strategies as st

WINDOW, MIN_CALLS, THRESHOLD, OPEN_S, PROBES, BACKOFF, MAX_OPEN_S = 6, 3, 0.5, 3.0, 2, 2.0, 10.0


@dataclass
class Reference:
    """One replica's breaker, written as plainly as possible."""

    state: str = "closed"
    window: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    now: float = 1000.0
    open_s: float = OPEN_S
    open_until: float = 0.0
    probe_calls: int = 0
    probe_fails: int = 0
    permits: int = 0

    def record(self, *, failed: bool) -> None:
        if self.state == "closed":
            self.window.append(failed)
            if len(self.window) >= MIN_CALLS and sum(self.window) / len(self.window) >= THRESHOLD:
                self._open(OPEN_S)
        elif self.state == "half_open":
            self.probe_calls += 1
            self.probe_fails += failed
            if self.probe_calls >= PROBES:
                if self.probe_fails / self.probe_calls >= THRESHOLD:
                    self._open(min(self.open_s * BACKOFF, MAX_OPEN_S))
                else:
                    self.state, self.window = "closed", deque(maxlen=WINDOW)

    def _open(self, seconds: float) -> None:
        self.state, self.open_s, self.open_until = "open", seconds, self.now + seconds
        self.window = deque(maxlen=WINDOW)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.state == "open" and self.now >= self.open_until:
            self.state, self.probe_calls, self.probe_fails, self.permits = "half_open", 0, 0, 0

    def admit(self) -> bool:
        if self.state == "closed":
            return True
        if self.state == "half_open" and self.permits < PROBES:
            self.permits += 1
            return True
        return False


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.booleans()),
        st.tuples(st.just("record"), st.just(value=True)),  # failures are what move a breaker: weight them
        st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0, 2.0, 3.0, 7.0])),
        st.tuples(st.just("admit"), st.integers(1, 4)),
    ),
    max_size=60,
)


async def run(ops):
    h = make_harness(
        {
            "default": {
                "window": WINDOW,
                "min_calls": MIN_CALLS,
                "thresholds": {"refusal": THRESHOLD},
                "open_for": OPEN_S,
                "half_open_calls": PROBES,
                "backoff": BACKOFF,
                "max_open_for": MAX_OPEN_S,
                "probe_timeout": "1h",
            }
        }
    )
    ref = Reference()
    h.breakers.track("u")
    for step, (op, arg) in enumerate(ops):
        if op == "record":
            ref.record(failed=arg)
            await h.output("u", *(["refusal"] if arg else []))
        elif op == "advance":
            ref.advance(arg)
            await h.advance(arg)
        else:
            for _ in range(arg):  # callers come in bursts
                expected = ref.admit()
                got = h.breakers.admit("u").allow_request
                await h.breakers.settle()
                assert got == expected, f"admit at step {step}: {ops[: step + 1]}"
        assert h.state("u") == ref.state, f"step {step}: {ops[: step + 1]}"


@settings(max_examples=600, deadline=None)
@given(OPS)
def test_engine_matches_the_reference_model(ops):
    asyncio.run(run(ops))
