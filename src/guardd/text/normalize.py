"""Normalisation that defeats cheap obfuscation before rules match.

``normalize`` is on every request's path, so it has an ASCII fast path and
does whole-string operations only. ``normalize_with_offsets`` produces the
same string plus, for each of its characters, the range of the original text
it came from; it is slower and meant for the rare path after a rule fired.

The definition both share, in order:

1. NFKC of the whole text (fullwidth, ligatures, math alphanumerics, circled
   letters become plain letters);
2. ``str.lower``;
3. a per-character fold: zero-width, bidi and stray combining marks are
   deleted; Cyrillic/Greek look-alikes, typographic quotes and dashes become
   their ASCII twins; final sigma becomes sigma (``str.lower`` decides it by
   context, which a per-character map could not reproduce);
4. whitespace runs become one space, and the ends are stripped.

Leetspeak is deliberately not folded here ("top 10" must stay "top 10" for
every guardrail that reads this text); rules that care match digit look-alikes
in their own patterns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Zero-width and bidi controls are invisible to a reader but split words for a matcher.
_INVISIBLE = [
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, *range(0x200B, 0x2010),
    *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0x3164, 0xFEFF, 0xFFA0,
]  # fmt: skip
# Marks left over after NFKC composed what it could: "Zalgo" decoration, never meaning.
_STRAY_MARKS = [
    *range(0x0300, 0x0370), *range(0x1AB0, 0x1B00), *range(0x1DC0, 0x1E00), *range(0x20D0, 0x2100),
    *range(0xFE20, 0xFE30),
]  # fmt: skip
# Lower-case forms only: step 2 has already lower-cased. Upper-case look-alikes
# (Cyrillic VE, EN, TE; Greek ETA, NU) are mapped by what they looked like before lowering.
# Characters are spelled by name so that no reader mistakes one for its Latin twin.
_LOOKALIKES = {
    # Cyrillic
    "\N{CYRILLIC SMALL LETTER A}": "a",
    "\N{CYRILLIC SMALL LETTER VE}": "b",
    "\N{CYRILLIC SMALL LETTER IE}": "e",
    "\N{CYRILLIC SMALL LETTER IO}": "e",
    "\N{CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I}": "i",
    "\N{CYRILLIC SMALL LETTER YI}": "i",
    "\N{CYRILLIC SMALL LETTER JE}": "j",
    "\N{CYRILLIC SMALL LETTER KA}": "k",
    "\N{CYRILLIC SMALL LETTER EM}": "m",
    "\N{CYRILLIC SMALL LETTER EN}": "h",
    "\N{CYRILLIC SMALL LETTER O}": "o",
    "\N{CYRILLIC SMALL LETTER PE}": "n",
    "\N{CYRILLIC SMALL LETTER ER}": "p",
    "\N{CYRILLIC SMALL LETTER ES}": "c",
    "\N{CYRILLIC SMALL LETTER TE}": "t",
    "\N{CYRILLIC SMALL LETTER U}": "y",
    "\N{CYRILLIC SMALL LETTER HA}": "x",
    "\N{CYRILLIC SMALL LETTER DZE}": "s",
    "\N{CYRILLIC SMALL LETTER KOMI DE}": "d",
    "\N{CYRILLIC SMALL LETTER QA}": "q",
    "\N{CYRILLIC SMALL LETTER WE}": "w",
    "\N{CYRILLIC SMALL LETTER PALOCHKA}": "l",
    "\N{CYRILLIC SMALL LETTER SHHA}": "h",
    "\N{CYRILLIC SMALL LETTER SOFT SIGN}": "b",
    # Greek
    "\N{GREEK SMALL LETTER ALPHA}": "a",
    "\N{GREEK SMALL LETTER BETA}": "b",
    "\N{GREEK SMALL LETTER GAMMA}": "y",
    "\N{GREEK SMALL LETTER EPSILON}": "e",
    "\N{GREEK SMALL LETTER ZETA}": "z",
    "\N{GREEK SMALL LETTER ETA}": "n",
    "\N{GREEK SMALL LETTER IOTA}": "i",
    "\N{GREEK SMALL LETTER KAPPA}": "k",
    "\N{GREEK SMALL LETTER MU}": "u",
    "\N{GREEK SMALL LETTER NU}": "v",
    "\N{GREEK SMALL LETTER OMICRON}": "o",
    "\N{GREEK SMALL LETTER RHO}": "p",
    "\N{GREEK SMALL LETTER TAU}": "t",
    "\N{GREEK SMALL LETTER UPSILON}": "u",
    "\N{GREEK SMALL LETTER CHI}": "x",
    "\N{GREEK SMALL LETTER OMEGA}": "w",
    # Latin letters NFKC keeps
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "\N{LATIN SMALL LETTER DOTLESS J}": "j",
    "\N{LATIN SMALL LETTER ALPHA}": "a",
    "\N{LATIN SMALL LETTER SCRIPT G}": "g",
    # Final sigma is chosen by context in str.lower; fold it so per-character lowering agrees.
    "\N{GREEK SMALL LETTER FINAL SIGMA}": "\N{GREEK SMALL LETTER SIGMA}",
    # Typography
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"',
    "\u00bb": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
}  # fmt: skip
_FOLD: dict[int, str | None] = {
    **dict.fromkeys(_INVISIBLE),
    **dict.fromkeys(_STRAY_MARKS),
    **{ord(k): v for k, v in _LOOKALIKES.items() if len(k) == 1 and k != v},
}
# str.translate looks up every character in a dict: searching for the few that fold first is ~10x faster.
_FOLDABLE = re.compile("[" + re.escape("".join(map(chr, _FOLD))) + "]")
_ASCII_SPACE_OTHER = ("\t", "\n", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e", "\x1f", "  ")
# Maximal whitespace runs that collapsing changes: 2+ characters, a lone non-space, or an end.
_WHITESPACE_TO_FIX = re.compile(r"\s{2,}|[^\S ]|^ | \Z")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def normalize(text: str) -> str:
    """NFKC, lower-case, fold look-alikes, strip invisible characters, collapse whitespace."""
    if text.isascii():
        lowered = text.lower()
        if any(ws in lowered for ws in _ASCII_SPACE_OTHER) or lowered[:1] == " " or lowered[-1:] == " ":
            return " ".join(lowered.split())
        return lowered
    folded = unicodedata.normalize("NFKC", text).lower()
    if _FOLDABLE.search(folded):
        folded = folded.translate(_FOLD)
    return " ".join(folded.split())


def approx_tokens(text: str) -> int:
    """Words and punctuation marks: within ~20% of BPE token counts for English prose."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class NormalizedOffsets:
    """For each normalised character ``i``, the original range ``[starts[i], ends[i])`` it came from."""

    starts: list[int]
    ends: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty half-open range of the normalised text onto the original text."""
        if not 0 <= start < end <= len(self.starts):
            msg = f"span [{start}, {end}) outside normalised text of length {len(self.starts)}"
            raise ValueError(msg)
        return self.starts[start], max(self.ends[start:end])


def normalize_with_offsets(text: str) -> tuple[str, NormalizedOffsets]:
    """``normalize(text)`` and where each of its characters came from in ``text``."""
    chars, starts, ends = _nfkc_with_offsets(text)
    chars, starts, ends = _lower_with_offsets(chars, starts, ends)
    chars, starts, ends = _fold_with_offsets(chars, starts, ends)
    chars, starts, ends = _collapse_with_offsets(chars, starts, ends)
    return chars, NormalizedOffsets(starts, ends)


def _nfkc_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    whole = unicodedata.normalize("NFKC", text)
    if whole == text:
        return text, list(range(len(text))), list(range(1, len(text) + 1))
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    # ASCII characters are NFKC-stable and never compose with what precedes them,
    # so only non-ASCII runs (plus the base character before each) need the slow walk.
    for run in _NON_ASCII.finditer(text):
        first = max(run.start() - 1, pos)
        starts.extend(range(pos, first))
        ends.extend(range(pos + 1, first + 1))
        run_starts, run_ends = _nfkc_run(text, first, run.end())
        starts += run_starts
        ends += run_ends
        pos = run.end()
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    if len(starts) != len(whole):
        # A boundary we treated as stable was not; settle for one coarse range.
        return whole, [0] * len(whole), [len(text)] * len(whole)
    return whole, starts, ends


def _nfkc_run(text: str, start: int, stop: int) -> tuple[list[int], list[int]]:
    """Offsets for the NFKC of ``text[start:stop]``, a run that begins at a stable boundary."""
    expected = unicodedata.normalize("NFKC", text[start:stop])
    if expected == text[start:stop]:
        return list(range(start, stop)), list(range(start + 1, stop + 1))
    # Most changed runs (fullwidth, ligatures, math letters) normalise one character at a time.
    pieces = [unicodedata.normalize("NFKC", ch) for ch in text[start:stop]]
    if "".join(pieces) == expected:
        return _spread(start, pieces)
    return _nfkc_segments(text, start, stop, expected)


def _spread(start: int, pieces: list[str]) -> tuple[list[int], list[int]]:
    """Offsets when ``pieces[i]`` is what character ``start + i`` became."""
    if all(len(piece) == 1 for piece in pieces):
        return list(range(start, start + len(pieces))), list(range(start + 1, start + len(pieces) + 1))
    starts = [start + i for i, piece in enumerate(pieces) for _ in piece]
    return starts, [s + 1 for s in starts]


def _nfkc_segments(text: str, start: int, stop: int, expected: str) -> tuple[list[int], list[int]]:
    """Slow path: one starter-plus-marks segment at a time, for runs that compose across characters."""
    starts: list[int] = []
    ends: list[int] = []
    done = 0
    i = start
    while i < stop:
        j = _segment_end(text, i, stop)
        piece = unicodedata.normalize("NFKC", text[i:j])
        # Composition across segments (Hangul jamo, some Indic vowel signs) shows up
        # as a mismatch with the normalised whole run: grow the segment until it agrees.
        while j < stop and not expected.startswith(piece, done):
            j = _segment_end(text, j, stop)
            piece = unicodedata.normalize("NFKC", text[i:j])
        if not expected.startswith(piece, done):
            break
        starts += [i] * len(piece)
        ends += [j] * len(piece)
        done += len(piece)
        i = j
    if done != len(expected):
        # Our segmentation could not reproduce the run: one coarse range is still true.
        return [start] * len(expected), [stop] * len(expected)
    return starts, ends


def _segment_end(text: str, i: int, stop: int) -> int:
    j = i + 1
    while j < stop and unicodedata.combining(text[j]):
        j += 1
    return j


def _lower_with_offsets(chars: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    lowered = chars.lower()
    if len(lowered) == len(chars):
        # lower() never shrinks, so equal length means every character mapped 1:1.
        return lowered, starts, ends
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for ch, s, e in zip(chars, starts, ends, strict=True):
        low = ch.lower()
        out.append(low)
        new_starts.extend([s] * len(low))
        new_ends.extend([e] * len(low))
    # Per-character lowering differs from the whole-string one only for final sigma,
    # which the fold maps to sigma anyway.
    return "".join(out), new_starts, new_ends


def _fold_with_offsets(chars: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    if not _FOLDABLE.search(chars):
        return chars, starts, ends
    folded = chars.translate(_FOLD)
    if len(folded) == len(chars):
        return folded, starts, ends
    keep = [i for i, ch in enumerate(chars) if _FOLD.get(ord(ch), ch) is not None]
    return folded, [starts[i] for i in keep], [ends[i] for i in keep]


def _collapse_with_offsets(chars: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    # Only runs that change are visited: a lone inner space stays as it is.
    for run in _WHITESPACE_TO_FIX.finditer(chars):
        out.append(chars[pos : run.start()])
        new_starts += starts[pos : run.start()]
        new_ends += ends[pos : run.start()]
        if run.start() > 0 and run.end() < len(chars):
            out.append(" ")
            new_starts.append(starts[run.start()])
            new_ends.append(ends[run.end() - 1])
        pos = run.end()
    if pos == 0:
        return chars, starts, ends
    out.append(chars[pos:])
    new_starts += starts[pos:]
    new_ends += ends[pos:]
    return "".join(out), new_starts, new_ends
