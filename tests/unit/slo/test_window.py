"""Rolling windows against a brute-force reference, and their bounds."""

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slo_fakes import FakeClock

from guardd.slo.window import WINDOW_RESOLUTIONS, WINDOWS, Ring, RollingCounts, period_resolution


@pytest.fixture
def clock():
    return FakeClock()


def _accumulate(steps):
    t, out = 0.0, []
    for gap, good in steps:
        t += gap
        out.append((t, good))
    return out


# (time offset, good) pairs in increasing time: what a monotonic clock delivers.
events = st.lists(st.tuples(st.floats(min_value=0, max_value=600, allow_nan=False), st.booleans()), max_size=200).map(
    _accumulate
)


def _reference(recorded, now, width, buckets):
    """Count events whose bucket is among the newest ``buckets`` up to ``now``: the ring's contract."""
    newest = int(now // width)
    inside = [good for t, good in recorded if newest - buckets < int(t // width) <= newest]
    return sum(inside), len(inside)


@given(events, st.integers(min_value=1, max_value=12), st.floats(min_value=0, max_value=2000))
@settings(max_examples=300, deadline=None)
def test_ring_sums_match_brute_force(recorded, buckets, later):
    width, size = 10.0, 12
    ring = Ring(width, size)
    for t, good in recorded:
        ring.add(t, int(good), 1)
    now = (recorded[-1][0] if recorded else 0.0) + later
    assert ring.sums(now, buckets) == _reference(recorded, now, width, buckets)


@given(events, st.sampled_from(sorted(WINDOWS)), st.floats(min_value=0, max_value=100_000))
@settings(max_examples=200, deadline=None)
def test_every_window_matches_brute_force(recorded, window, later):
    counts = RollingCounts(period=30 * 86400)
    for t, good in recorded:
        counts.record(t, good=good)
    now = (recorded[-1][0] if recorded else 0.0) + later
    seconds = WINDOWS[window]
    width = next(r.width for r in WINDOW_RESOLUTIONS if r.span >= seconds)
    assert counts.window(now, seconds) == _reference(recorded, now, width, int(seconds // width))


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_a_window_spans_its_length_less_at_most_one_bucket(window):
    seconds = WINDOWS[window]
    resolution = next(r for r in WINDOW_RESOLUTIONS if r.span >= seconds)
    buckets = int(seconds // resolution.width)
    assert seconds - resolution.width <= (buckets - 1) * resolution.width <= seconds
    assert resolution.width <= seconds / 30  # no window is coarser than 1/30 of its length


def test_events_leave_the_window_as_time_passes(clock):
    counts = RollingCounts(period=86400)
    counts.record(clock.now, good=False)
    clock.advance(299)
    counts.record(clock.now, good=True)
    assert counts.window(clock.now, 300) == (1, 2)
    clock.advance(20)
    assert counts.window(clock.now, 300) == (1, 1)
    assert counts.window(clock.now, 3600) == (1, 2)


def test_a_jump_longer_than_the_ring_clears_it(clock):
    counts = RollingCounts(period=86400)
    counts.record(clock.now, good=False)
    clock.advance(40 * 86400)
    counts.record(clock.now, good=True)
    assert counts.window(clock.now, 259200) == (1, 1)
    assert counts.period(clock.now) == (1, 1)


def test_wall_clock_jumps_do_not_move_windows(clock):
    counts = RollingCounts(period=86400)
    counts.record(clock.monotonic(), good=False)
    clock.wall_now -= 7200  # NTP steps the wall clock back two hours
    counts.record(clock.monotonic(), good=True)
    assert counts.window(clock.monotonic(), 300) == (1, 2)


def test_a_time_before_the_newest_bucket_counts_in_the_newest_bucket():
    ring = Ring(10, 6)
    ring.add(100, 1, 1)
    ring.add(35, 0, 1)  # never from a monotonic clock; must neither crash nor resurrect old buckets
    assert ring.sums(100, 1) == (1, 2)


def test_memory_is_fixed_whatever_the_traffic(clock):
    counts = RollingCounts(period=30 * 86400)
    before = _size(counts)
    for _ in range(20_000):
        clock.advance(7.3)
        counts.record(clock.now, good=True)
    assert _size(counts) == before
    assert before < 16 * 1024


def _size(counts):
    rings = (*counts._rings, counts._period)
    return sum(sys.getsizeof(r._a) + sys.getsizeof(r._b) for r in rings)


@pytest.mark.parametrize(
    ("period", "width", "size"), [(30 * 86400, 3600, 720), (86400, 120, 720), (7 * 86400, 840, 720)]
)
def test_the_period_ring_has_720_buckets(period, width, size):
    resolution = period_resolution(period)
    assert (resolution.width, resolution.size) == (width, size)


@given(events, st.sampled_from(sorted(WINDOWS)))
@settings(max_examples=100, deadline=None)
def test_queries_between_records_change_nothing(recorded, window):
    counts = RollingCounts(period=30 * 86400)
    seconds = WINDOWS[window]
    width = next(r.width for r in WINDOW_RESOLUTIONS if r.span >= seconds)
    for index, (t, good) in enumerate(recorded):
        counts.record(t, good=good)
        assert counts.window(t, seconds) == _reference(recorded[: index + 1], t, width, int(seconds // width))
