"""Map spans found in a modified text back to the request's original text.

Findings must index the text the caller sent, but a guardrail that runs after
a redaction sees the redacted text. Each modification that can describe
itself as edits lets later spans be mapped back exactly; a wholesale rewrite
(a JSON repair) cannot, and later spans then cover the whole original text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    """``text[start:end]`` (old coordinates) was replaced by ``new_length`` code points."""

    start: int
    end: int
    new_length: int


@dataclass(frozen=True, slots=True)
class _Layer:
    edits: tuple[Edit, ...] | None  # None: a rewrite that cannot be mapped
    old_length: int


class OffsetMap:
    """The chain of modifications applied to one request's text, newest last."""

    __slots__ = ("_layers",)

    def __init__(self) -> None:
        self._layers: list[_Layer] = []

    def record(self, old_length: int, edits: tuple[Edit, ...] | None) -> None:
        """Note that a text of ``old_length`` was modified by ``edits`` (sorted, disjoint)."""
        self._layers.append(_Layer(edits, old_length))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` in the newest text to the original text."""
        for layer in reversed(self._layers):
            if layer.edits is None:
                return 0, self._original_length()
            start = _map_back(layer.edits, start, at_end=False)
            end = _map_back(layer.edits, end, at_end=True)
        return start, end

    def _original_length(self) -> int:
        return self._layers[0].old_length


def _map_back(edits: tuple[Edit, ...], position: int, *, at_end: bool) -> int:
    delta = 0
    for edit in edits:
        new_start = edit.start + delta
        new_end = new_start + edit.new_length
        if position < new_start or (position == new_start and not at_end):
            break
        if position < new_end or (position == new_end and at_end):
            # Inside a replacement: the span covers the whole replaced original.
            return edit.end if at_end else edit.start
        delta += edit.new_length - (edit.end - edit.start)
    return position - delta
