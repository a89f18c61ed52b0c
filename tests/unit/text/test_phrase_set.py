from __future__ import annotations

from guardd.text.phrase_set import PhraseSet


def test_matching_reports_every_matching_pattern():
    phrases = PhraseSet([r"\bfoo\b", r"bar", r"baz+"])
    assert len(phrases) == 3
    assert phrases.matching("a bar and a foo") == [0, 1]
    assert phrases.matching("nothing here") == []


def test_spans_are_code_point_offsets_and_bounded():
    phrases = PhraseSet([r"ab"])
    text = "東京ab😀ab ab"
    assert list(phrases.spans(0, text, limit=2)) == [(2, 4), (5, 7)]


def test_large_text_stays_on_the_fast_path():
    phrases = PhraseSet([rf"\bword{i} (?:[^ ]+ ){{0,3}}end\b" for i in range(50)])
    text = " ".join(f"w{i % 977}" for i in range(200_000)) + " word7 a b end"
    assert phrases.matching(text) == [7]
