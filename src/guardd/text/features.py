"""Features computed once per request text and shared by every guardrail."""

from __future__ import annotations

from functools import cached_property

from guardd.text.normalize import approx_tokens, normalize


class TextFeatures:
    """Lazily computed views of one text; each is computed at most once."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def normalized(self) -> str:
        """NFKC, invisible characters stripped, homoglyphs folded, whitespace collapsed, lower case."""
        return normalize(self.text)

    @cached_property
    def approx_tokens(self) -> int:
        """A tokenizer-free estimate of the text's LLM token count."""
        return approx_tokens(self.text)


class FeatureCache:
    """Features per distinct text within one request (texts change when a guardrail modifies them)."""

    __slots__ = ("_by_text",)

    def __init__(self) -> None:
        self._by_text: dict[str, TextFeatures] = {}

    def of(self, text: str) -> TextFeatures:
        features = self._by_text.get(text)
        if features is None:
            features = self._by_text[text] = TextFeatures(text)
        return features
