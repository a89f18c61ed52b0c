"""Outcome + verdict joined by request_id: each call counted once, in bounded time and memory."""

import sys

import pytest

from guardd.slo.join import Joiner, Judged


class Recorder:
    def __init__(self):
        self.judged: list[Judged] = []
        self.unpaired: list[tuple[str, str]] = []

    def joiner(self, timeout=30.0, capacity=1000):
        return Joiner(
            self.judged.append,
            lambda half, reason: self.unpaired.append((half, reason)),
            timeout=timeout,
            capacity=capacity,
        )

    @property
    def goods(self):
        return [j.good for j in self.judged]


def _half(good, upstream="u"):
    return Judged("default", upstream, good)


@pytest.mark.parametrize("first", ["outcome", "verdict"])
@pytest.mark.parametrize(
    ("outcome_good", "verdict_good", "expected"),
    [(True, True, [True]), (False, True, [False]), (True, False, [False]), (False, False, [False])],
)
def test_both_halves_count_the_call_once(first, outcome_good, verdict_good, expected):
    rec = Recorder()
    joiner = rec.joiner()
    halves = {"outcome": _half(outcome_good), "verdict": _half(verdict_good)}
    second = "verdict" if first == "outcome" else "outcome"
    joiner.offer("r1", first, halves[first], now=0)
    joiner.offer("r1", second, halves[second], now=1)
    joiner.expire(now=1000)
    assert rec.goods == expected
    assert rec.unpaired == []
    assert len(joiner) == 0


def test_a_bad_half_is_counted_at_once_and_a_good_one_waits():
    rec = Recorder()
    joiner = rec.joiner(timeout=30)
    joiner.offer("bad", "outcome", _half(good=False), now=0)
    joiner.offer("good", "outcome", _half(good=True), now=0)
    assert rec.goods == [False]
    joiner.expire(now=29.9)
    assert rec.goods == [False]
    joiner.expire(now=30)
    assert rec.goods == [False, True]
    assert rec.unpaired == [("outcome", "expired")]  # the settled marker is dropped silently


def test_a_lone_verdict_still_counts_after_the_timeout():
    rec = Recorder()
    joiner = rec.joiner(timeout=5)
    joiner.offer("r1", "verdict", _half(good=True), now=0)
    joiner.offer("r2", "verdict", _half(good=True), now=6)  # any later event expires the old ones
    assert rec.goods == [True]
    assert rec.unpaired == [("verdict", "expired")]


def test_the_outcome_names_the_upstream_when_the_verdict_left_it_empty():
    rec = Recorder()
    joiner = rec.joiner()
    joiner.offer("r1", "outcome", _half(good=True, upstream="openai/gpt-4o"), now=0)
    joiner.offer("r1", "verdict", _half(good=True, upstream="unknown"), now=0)
    assert rec.judged == [Judged("default", "openai/gpt-4o", good=True)]


def test_no_request_id_means_no_join():
    rec = Recorder()
    joiner = rec.joiner()
    joiner.offer("", "outcome", _half(good=True), now=0)
    joiner.offer("", "verdict", _half(good=True), now=0)
    assert rec.goods == [True, True]
    assert len(joiner) == 0


def test_the_same_half_twice_counts_the_first_alone():
    rec = Recorder()
    joiner = rec.joiner()
    joiner.offer("r1", "outcome", _half(good=True), now=0)
    joiner.offer("r1", "outcome", _half(good=True), now=1)  # a retry that reused the id
    joiner.offer("r1", "verdict", _half(good=False), now=2)
    assert rec.goods == [True, False]


def test_over_capacity_the_oldest_is_counted_alone():
    rec = Recorder()
    joiner = rec.joiner(capacity=2)
    for index in range(3):
        joiner.offer(f"r{index}", "outcome", _half(good=True), now=index)
    assert len(joiner) == 2
    assert rec.unpaired == [("outcome", "evicted")]
    assert rec.goods == [True]


def test_a_million_request_ids_that_never_join_keep_memory_bounded():
    counted = [0]
    joiner = Joiner(lambda _: counted.__setitem__(0, counted[0] + 1), lambda *_: None, timeout=30, capacity=10_000)
    half = _half(good=True)
    for index in range(1_000_000):
        joiner.offer(f"req-{index}", "verdict", half, now=index * 1e-5)  # 10 s in all: nothing expires
        if index == 20_000:
            full = sys.getsizeof(joiner._pending)
    assert len(joiner) == 10_000
    assert sys.getsizeof(joiner._pending) == full  # the table stopped growing once full
    assert counted[0] == 1_000_000 - 10_000  # every evicted one was still counted
