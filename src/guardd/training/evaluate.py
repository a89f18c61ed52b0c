"""Score an exported ONNX model on held-out examples the way guardd serves it (ONNX Runtime, guardd's encoder)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import onnxruntime as ort

from guardd.guardrails.hallucination import Combine
from guardd.guardrails.hallucination_claims import Premises, claims
from guardd.inference.encoder import encode, load_tokenizer, pad
from guardd.text.windows import word_windows
from guardd.training.data import Example
from guardd.training.metrics import Scores, score

_LATENCY_RUNS: Final = 30
_LATENCY_TEXT: Final = "guardd checks the prompts and completions of a language model for injection and refusals. "


@dataclass(frozen=True, slots=True)
class Served:
    """How the policy serves a model: what the evaluation must mirror."""

    max_length: int
    threshold: float
    """On P(positive); for grounding on 1 - support, i.e. P(hallucinated)."""
    top_k: int = 2
    premise_words: int = 64
    min_claim_words: int = 1
    window_words: int | None = None
    """Text classifiers: score half-overlapping windows of this many words, the best counting (as served)."""
    max_windows: int = 16
    combine: tuple[float, float, float] | None = None
    """Grounding: (model, overlap, bias) weights of the guardrail's ``combine``; None: the model alone."""


SERVED: Final = {
    # Injection reads whole documents in windows (BIPIA's attacks sit at the end of 1-2 KB emails and tables).
    "injection": Served(max_length=256, threshold=0.7, window_words=96),
    "refusal": Served(max_length=128, threshold=0.5),
    # top_k 1: one (premise, claim) pair per sentence; a premise is the best sentence and its neighbours.
    "grounding": Served(max_length=128, threshold=0.5, top_k=1, premise_words=64, min_claim_words=3),
}


class OnnxClassifier:
    """One ONNX Runtime session and tokenizer: probabilities of column 1, each item run alone as served."""

    def __init__(self, directory: Path, max_length: int, threads: int = 2) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = load_tokenizer(directory / "tokenizer.json", max_length)

    def positive(self, items: Sequence[str | tuple[str, str]], batch: int = 32) -> list[float]:
        out: list[float] = []
        for start in range(0, len(items), batch):
            out += self._run(list(items[start : start + batch]))
        return out

    def _run(self, items: list[str | tuple[str, str]]) -> list[float]:
        encodings = encode(self.tokenizer, items)
        result = [0.0] * len(items)
        for i, encoding in enumerate(encodings):  # each item alone, as served (padding: none)
            arrays = cast("dict[str, Any]", pad([encoding]))
            (logits,) = self.session.run(None, {n: arrays[n] for n in self.inputs})
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            result[i] = float(shifted[0, 1] / shifted[0].sum())
        return result

    def latency_ms(self, batch: int, tokens: int = 128) -> float:
        """Median milliseconds of one session run on ``batch`` items of exactly ``tokens`` tokens."""
        text = _LATENCY_TEXT * (tokens // 8)
        encodings = encode(self.tokenizer, [text] * batch)
        arrays = cast("dict[str, Any]", pad(encodings))
        feed = {n: arrays[n][:, :tokens] for n in self.inputs}
        self.session.run(None, feed)
        times = []
        for _ in range(_LATENCY_RUNS):
            started = time.perf_counter()
            self.session.run(None, feed)
            times.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(times), 2)


def evaluate_texts(model: OnnxClassifier, examples: Sequence[Example], served: Served) -> Scores:
    """Text classifier: P(positive) per example, of its best window when served in windows."""
    return score([e.label for e in examples], text_scores(model, examples, served), served.threshold)


def text_scores(model: OnnxClassifier, examples: Sequence[Example], served: Served) -> list[float]:
    """P(positive) of each whole text as served: its best window's, when read in windows."""
    if served.window_words is None:
        return model.positive([e.text for e in examples])
    words, limit = served.window_words, served.max_windows
    return [max(model.positive([e.text[a:b] for a, b in word_windows(e.text, words, limit)])) for e in examples]


def evaluate_grounding(model: OnnxClassifier, examples: Sequence[Example], served: Served) -> Scores:
    """Whole records through the guardrail's path; positive = hallucinated, score = 1 - least claim support."""
    return score([1 - e.label for e in examples], grounding_scores(model, examples, served), served.threshold)


def grounding_scores(model: OnnxClassifier, examples: Sequence[Example], served: Served) -> list[float]:
    """P(hallucinated) of each whole record as served: 1 - the support of its least-supported claim."""
    return [1.0 - _support(model, e.text, e.pair or "", e.question, served) for e in examples]


def _support(model: OnnxClassifier, context: str, answer: str, question: str, served: Served) -> float:
    features = claim_features(model, Example(context, 1, "", pair=answer, question=question), served)
    if served.combine is None:
        return min((p for p, _ in features), default=1.0)
    weights = Combine(model=served.combine[0], overlap=served.combine[1], bias=served.combine[2])
    return min((weights.support(p, o) for p, o in features), default=1.0)


def claim_features(model: OnnxClassifier, record: Example, served: Served) -> list[tuple[float, float]]:
    """Per claim of the record's answer, as served: (P(supported) of its best pair, word overlap with the context).

    The two inputs of the hallucination guardrail's ``combine``.
    """
    found = claims(record.pair or "", served.min_claim_words, 32, question=record.question)
    premises = Premises.of([record.text], served.premise_words, 256)
    if not found or not premises:
        return []
    pairs = premises.pairs(found, record.question, served.top_k)
    best = pairs.support(model.positive(pairs.items))
    return [(p, premises.overlap(c.text)) for c, p in zip(found, best, strict=True)]
