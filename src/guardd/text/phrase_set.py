"""Many regular expressions matched in one linear-time RE2 pass."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Final, cast

import re2

# The set's DFA is rebuilt per search when it outgrows its budget; a roomy
# budget keeps 1 MiB texts on the fast path.
_MAX_MEM: Final = 64 << 20


class PhraseSet:
    """Patterns compiled once; ``matching`` finds which match, ``spans`` says where.

    The common case (nothing matches) costs one pass over the text however
    many patterns there are; per-pattern searches run only for the patterns
    that matched.
    """

    __slots__ = ("_regexes", "_set")

    def __init__(self, patterns: Sequence[str]) -> None:
        options = re2.Options()
        options.max_mem = _MAX_MEM
        self._regexes = tuple(re2.compile(p, options) for p in patterns)
        self._set = re2.Set.SearchSet(options)
        for pattern in patterns:
            self._set.Add(pattern)
        self._set.Compile()

    def __len__(self) -> int:
        return len(self._regexes)

    def matching(self, text: str) -> list[int]:
        """Indices of the patterns that match somewhere in ``text``, ascending."""
        # google-re2-stubs types Set.Match as ``bool | None``; it returns ``list[int] | None``.
        found = cast("list[int] | None", self._set.Match(text))
        return sorted(found) if found else []

    def spans(self, index: int, text: str, limit: int) -> Iterator[tuple[int, int]]:
        """Code-point spans of the first ``limit`` non-overlapping matches of pattern ``index``."""
        for match in islice(self._regexes[index].finditer(text), limit):
            yield match.start(), match.end()
