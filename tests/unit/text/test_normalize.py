from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardd.text import normalize as normalize_module
from guardd.text.normalize import NormalizedOffsets, approx_tokens, normalize, normalize_with_offsets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello   World\n\tagain ", "hello world again"),
        ("ＩＧＮＯＲＥ ａｌｌ", "ignore all"),  # fullwidth
        ("ig\u200bno\u200dre\u2060 pre\ufeffvious", "ignore previous"),  # zero-width
        ("\u202eevil\u202c text", "evil text"),  # bidi controls
        ("\u0456gn\u043er\u0435", "ignore"),  # Cyrillic look-alikes
        ("\u0399GNORE", "ignore"),  # Greek capital iota
        ("\u0406GN\u041eR\u0415", "ignore"),  # Cyrillic capitals
        ("\ufb01le", "file"),  # ligature
        ("\U0001d422\U0001d420\U0001d427\U0001d428\U0001d42b\U0001d41e", "ignore"),  # math bold
        ("\u24d8gnore", "ignore"),  # circled letter
        ("i\u0335g\u0335n\u0335o\u0335r\u0335e\u0335", "ignore"),  # Zalgo strike-through
        ("it\u2019s \u201cquoted\u201d \u2014 ok", 'it\'s "quoted" - ok'),
        (
            "\u039f\u0394\u039f\u03a3 \u03a3\u039f\u03a6\u039f\u03a3",
            "o\u03b4o\u03c3 \u03c3o\u03c6o\u03c3",
        ),  # final sigma folded, whatever lower() decided
        ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # composed, not stripped
        ("Grüße aus Köln", "grüße aus köln"),
        ("top 10 tips for 2024", "top 10 tips for 2024"),  # no leetspeak folding in shared text
        ("東京で会いましょう 🗼", "東京で会いましょう 🗼"),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_normalize_examples(text, expected):
    assert normalize(text) == expected
    assert normalize_with_offsets(text)[0] == expected


_TRICKY = st.sampled_from(
    list(
        "aeiIOΣσςİıﬁＡｂ가각\u0301\u0308\u0327\u0335\u200b\u202e \t\n\u3000\u00a0é𝐢ⓘ①😀東"
        "\u0b47\u0b3e\u0f73\u1100\u1161\u11a8\u0345\u1fb3\ufdfa\u2028"
    )
)
_TEXT = st.lists(st.one_of(_TRICKY, st.characters()), max_size=40).map("".join)


@settings(max_examples=500)
@given(_TEXT)
def test_offsets_agree_with_normalize(text):
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == normalize(text)
    assert len(offsets.starts) == len(offsets.ends) == len(normalized)


@settings(max_examples=500)
@given(_TEXT)
def test_each_character_maps_onto_the_characters_it_came_from(text):
    normalized, offsets = normalize_with_offsets(text)
    for i, ch in enumerate(normalized):
        start, end = offsets.starts[i], offsets.ends[i]
        assert 0 <= start < end <= len(text)
        if ch != " ":
            assert ch in normalize(text[start:end])
    assert offsets.starts == sorted(offsets.starts)


@settings(max_examples=300)
@given(st.text(max_size=20), st.sampled_from(["ignore", "system prompt", "東京", "😀 ok"]), st.text(max_size=20))
def test_mapped_span_of_a_phrase_covers_the_phrase(prefix, phrase, suffix):
    text = f"{prefix} {phrase} {suffix}"
    normalized, offsets = normalize_with_offsets(text)
    needle = normalize(phrase)
    at = normalized.find(needle)
    start, end = offsets.original_span(at, at + len(needle))
    assert needle in normalize(text[start:end])


@pytest.mark.parametrize(
    ("text", "phrase", "original"),
    [
        ("😀😀 ignore this", "ignore", "ignore"),
        ("東京 ＩＧＮＯＲＥ", "ignore", "ＩＧＮＯＲＥ"),
        ("a  \n\n b\u200bc", "a b", "a  \n\n b"),
        ("\u0456gn\u200b\u043ere!", "ignore", "\u0456gn\u200b\u043ere"),
        ("café\u0301 ok", "ok", "ok"),
        ("\ufb01x", "fi", "\ufb01"),
    ],
)
def test_original_span_examples(text, phrase, original):
    normalized, offsets = normalize_with_offsets(text)
    at = normalized.index(phrase)
    start, end = offsets.original_span(at, at + len(phrase))
    assert text[start:end] == original


def test_ligature_half_maps_to_the_whole_ligature():
    normalized, offsets = normalize_with_offsets("\ufb01")
    assert normalized == "fi"
    assert offsets.original_span(0, 1) == (0, 1)
    assert offsets.original_span(1, 2) == (0, 1)


def test_hangul_jamo_composing_across_segments_stays_exact():
    text = "x\u1100\u1161\u11a8y"  # conjoining jamo NFKC-compose to one syllable
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == "x\uac01y" == normalize(text)
    assert offsets.original_span(1, 2) == (1, 4)
    assert offsets.original_span(2, 3) == (4, 5)


@pytest.mark.parametrize(("start", "end"), [(0, 0), (-1, 1), (2, 1), (0, 99)])
def test_original_span_rejects_bad_ranges(start, end):
    offsets = NormalizedOffsets([0, 1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="outside"):
        offsets.original_span(start, end)


def test_fold_only_deletes_or_maps_one_to_one():
    for source, target in normalize_module._FOLD.items():
        assert target is None or len(target) == 1, unicodedata.name(chr(source))


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("Hello, world!", 4), ("a b c", 3)])
def test_approx_tokens(text, tokens):
    assert approx_tokens(text) == tokens
