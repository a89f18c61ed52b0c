"""Word windows over long texts: coverage, overlap, the bound on their number."""

import pytest

from guardd.text.windows import word_windows

TEXT = " ".join(f"w{i}" for i in range(11))


def pieces(text, words, limit=100):
    return [text[start:end] for start, end in word_windows(text, words, limit)]


def test_windows_overlap_by_half_and_reach_the_last_word():
    assert pieces(TEXT, 4) == ["w0 w1 w2 w3", "w2 w3 w4 w5", "w4 w5 w6 w7", "w6 w7 w8 w9", "w8 w9 w10"]


@pytest.mark.parametrize("text", ["", "one", "  a  b  ", TEXT])
def test_a_text_within_the_window_is_one_window_the_whole_text(text):
    assert word_windows(text, 11, 100) == [(0, len(text))]


def test_past_the_limit_the_head_and_the_tail_are_kept():
    assert pieces(TEXT, 4, limit=3) == ["w0 w1 w2 w3", "w2 w3 w4 w5", "w8 w9 w10"]


def test_a_megabyte_costs_no_more_windows_than_the_limit():
    windows = word_windows("word " * 200_000, 96, 16)
    assert len(windows) == 16
    assert windows[-1][1] == len("word " * 200_000) - 1
