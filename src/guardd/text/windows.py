"""Overlapping word windows over a long text, for classifiers trained on short inputs.

A classifier that reads 128 tokens sees only the start of a 2 KB email; an
instruction planted at its end goes unread. Scoring half-overlapping windows
and keeping the highest lets every part of the text be read at the length the
model was trained on, and the best window says where to look.
"""

from __future__ import annotations

import re
from typing import Final

_WORD: Final = re.compile(r"\S+")


def word_windows(text: str, words: int, limit: int) -> list[tuple[int, int]]:
    """``[start, end)`` code-point ranges of windows of ``words`` words, each starting half a window on.

    A text of at most ``words`` words is one window, the whole text. Past
    ``limit`` windows, the first and last ``limit / 2`` are kept: instructions
    planted in a document sit mostly at its start or its end, and the cost of a
    request must stay bounded whatever its size.
    """
    bounds = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if len(bounds) <= words:
        return [(0, len(text))]
    stride = max(1, words // 2)
    starts = list(range(0, len(bounds) - words + stride, stride))
    if len(starts) > limit:
        head = (limit + 1) // 2
        starts = starts[:head] + starts[len(starts) - (limit - head) :]
    return [(bounds[s][0], bounds[min(s + words, len(bounds)) - 1][1]) for s in starts]
