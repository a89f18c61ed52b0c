"""Claims, context premises and cheap lexical retrieval for the hallucination guardrail.

A claim is one sentence of the answer, with its span. Before any model runs,
each claim is matched to the context sentence sharing most of its words, and
that sentence is read with its neighbours, up to a word budget that fits the
model next to the claim: the premise. So the model verifies ``claims x top_k``
pairs instead of ``claims x sentences``, and each premise is centred on the
evidence rather than cut wherever a fixed chunk happened to end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from guardd.guardrails.base import Span

# A sentence ends at . ! ? (and closing quotes/brackets) followed by space and a likely sentence start.
_BOUNDARY: Final = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=["'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)""")
_ABBREVIATIONS: Final = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "inc",
        "ltd",
        "co",
        "corp",
        "no",
        "fig",
        "al",
        "approx",
        "dept",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
    ]
)
QUESTION_WORDS: Final = 32
"""Words of the prompt kept as the question: a question, not the prompt's pasted context."""
_WORD: Final = re.compile(r"[A-Za-z0-9]+(?:['.][A-Za-z0-9]+)*")
_STOPWORDS: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "not",
        "no",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "also",
        "than",
        "so",
        "such",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "each",
        "into",
        "about",
        "over",
        "after",
        "before",
        "between",
        "during",
        "under",
        "more",
        "most",
        "other",
        "some",
        "very",
        "just",
        "only",
    ]
)


@dataclass(frozen=True, slots=True)
class Claim:
    """One answer sentence that asserts something, and where it is."""

    text: str
    span: Span


def sentences(text: str) -> Iterator[tuple[str, Span]]:
    """Sentences of ``text`` with half-open spans, whitespace trimmed; abbreviations do not split."""
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _ends_with_abbreviation(text[start : match.start()]):
            continue
        yield from _trimmed(text, start, match.start())
        start = match.end()
    yield from _trimmed(text, start, len(text))


def _ends_with_abbreviation(sentence: str) -> bool:
    last = sentence.rsplit(None, 1)[-1] if sentence.strip() else ""
    return last.rstrip(".").lower() in _ABBREVIATIONS or bool(re.fullmatch(r"[A-Z]\.", last))


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[str, Span]]:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + (len(piece) - len(piece.lstrip()))
        yield stripped, Span(offset, offset + len(stripped))


def claims(answer: str, min_words: int, limit: int, *, question: str = "") -> list[Claim]:
    """Sentences with at least ``min_words`` words ("Sure!" asserts nothing), at most ``limit``.

    With a ``question``, an answer too short to hold such a sentence ("Delhi")
    is one claim: it asserts something once read with the question, which
    ``hypothesis`` prefixes.
    """
    found = [Claim(s, span) for s, span in sentences(answer) if len(_WORD.findall(s)) >= min_words]
    if not found and question and _WORD.search(answer):
        found = [Claim(s, span) for s, span in _trimmed(answer, 0, len(answer))]
    return found[:limit]


def question_of(prompt: str, max_words: int = QUESTION_WORDS) -> str:
    """The end of the prompt, where a RAG prompt puts its question: at most ``max_words`` words (0: none)."""
    return " ".join(prompt.split()[-max_words:]) if max_words > 0 else ""


def hypothesis(claim: str, question: str) -> str:
    """What the model verifies: the claim, read after the question it answers when there is one."""
    return f"{question} {claim}" if question else claim


@dataclass(frozen=True, slots=True)
class Premises:
    """The context's sentences (each at most ``max_words`` words), their words, and the passage of each."""

    sentences: tuple[str, ...]
    words: tuple[frozenset[str], ...]
    passage: tuple[int, ...]
    max_words: int
    vocabulary: frozenset[str] = frozenset()
    """Every content word of the sentences: what ``overlap`` looks claims up in."""

    @classmethod
    def of(cls, passages: Iterable[str], max_words: int, limit: int) -> Premises:
        """The first ``limit`` sentences of ``passages``; a sentence longer than ``max_words`` is cut."""
        found = [
            (piece, index)
            for index, passage in enumerate(passages)
            for sentence, _ in sentences(passage)
            for piece in _cut(sentence, max_words)
        ][:limit]
        words = tuple(content_words(s) for s, _ in found)
        return cls(
            sentences=tuple(s for s, _ in found),
            words=words,
            passage=tuple(i for _, i in found),
            max_words=max_words,
            vocabulary=frozenset().union(*words),
        )

    def __bool__(self) -> bool:
        return bool(self.sentences)

    def best(self, claim: frozenset[str], top_k: int) -> list[str]:
        """Premises for ``claim``: its ``top_k`` best-overlapping sentences, each read with its neighbours.

        A window grows a sentence at a time, the next before the previous, within its passage, while it
        fits ``max_words``. A sentence already inside a chosen window does not start another.
        """
        ranked = sorted(range(len(self.sentences)), key=lambda i: (len(claim & self.words[i]), -i), reverse=True)
        windows: list[tuple[int, int]] = []
        for center in ranked:
            if len(windows) == top_k:
                break
            if not any(low <= center <= high for low, high in windows):
                windows.append(self._grow(center))
        return [" ".join(self.sentences[low : high + 1]) for low, high in windows]

    def overlap(self, claim: str) -> float:
        """Share of ``claim``'s content words found anywhere in the context (1.0 for a claim with none)."""
        words = content_words(claim)
        if not words:
            return 1.0
        return len(words & self.vocabulary) / len(words)

    def pairs(self, found: Sequence[Claim], question: str, top_k: int) -> ClaimPairs:
        """Each claim, read after ``question``, against its ``top_k`` premises: what a pair model verifies."""
        items: list[tuple[str, str]] = []
        owners: list[int] = []
        for index, claim in enumerate(found):
            said = hypothesis(claim.text, question)
            for premise in self.best(content_words(said), top_k):
                items.append((premise, said))  # premise first, as NLI models are trained
                owners.append(index)
        return ClaimPairs(items, owners, len(found))

    def _grow(self, center: int) -> tuple[int, int]:
        low = high = center
        words = len(self.sentences[center].split())
        grew = True
        while grew:
            grew = False
            for neighbour in (high + 1, low - 1):
                if 0 <= neighbour < len(self.sentences) and self.passage[neighbour] == self.passage[center]:
                    size = len(self.sentences[neighbour].split())
                    if words + size <= self.max_words:
                        words += size
                        low, high = min(low, neighbour), max(high, neighbour)
                        grew = True
        return low, high


@dataclass(frozen=True, slots=True)
class ClaimPairs:
    """(premise, claim) pairs and the claim each belongs to."""

    items: list[tuple[str, str]]
    owners: list[int]
    claims: int

    def support(self, scores: Iterable[float]) -> list[float]:
        """Each claim's best score over its pairs, from one score per pair in order."""
        best = [0.0] * self.claims
        for owner, value in zip(self.owners, scores, strict=True):
            best[owner] = max(best[owner], value)
        return best


def chunks(passages: Sequence[str], max_words: int, limit: int) -> list[str]:
    """Whole sentences packed into chunks of at most ``max_words`` words (a longer sentence is cut).

    How the shipped grounding model's training pairs were cut (``guardd.training.tasks``); serving reads
    ``Premises`` centred on the evidence instead, which scores better on held-out HaluEval.
    """
    result: list[str] = []
    for passage in passages:
        current: list[str] = []
        words = 0
        for sentence, _ in sentences(passage):
            for piece in _cut(sentence, max_words):
                n = len(piece.split())
                if current and words + n > max_words:
                    result.append(" ".join(current))
                    current, words = [], 0
                current.append(piece)
                words += n
        if current:
            result.append(" ".join(current))
    return result[:limit]


def _cut(sentence: str, max_words: int) -> Iterator[str]:
    words = sentence.split()
    for i in range(0, len(words), max_words):
        yield " ".join(words[i : i + max_words])


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words that carry meaning, crudely stemmed so "launched" meets "launch"."""
    return frozenset(_stem(w) for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def best_chunks(claim: frozenset[str], chunk_words: Sequence[frozenset[str]], top_k: int) -> list[int]:
    """Indices of the ``top_k`` chunks sharing the most of the claim's words (ties: earlier first)."""
    if len(chunk_words) <= top_k:
        return list(range(len(chunk_words)))
    overlap = [(len(claim & words), -i) for i, words in enumerate(chunk_words)]
    ranked = sorted(range(len(chunk_words)), key=lambda i: overlap[i], reverse=True)
    return ranked[:top_k]
