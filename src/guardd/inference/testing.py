"""Tiny, deterministic ONNX models and tokenizers for tests, built with the ``onnx`` helper API.

Part of the public API so test suites (ours and operators') can exercise the
real inference path without model weights or torch. Needs the ``onnx``
package (the ``dev`` extra). The models are bag-of-words arithmetic whose
outputs can be worked out by hand:

- ``text_classifier``: labels ``[safe, injection]``; the share of trigger
  words among the tokens pushes towards ``injection``.
- ``pair_classifier``: labels ``[unsupported, supported]``; ``supported``
  grows with the share of the hypothesis's words that the premise contains.
- ``quantized_classifier``: ``text_classifier``'s arithmetic as a MatMul, int8
  dynamically quantized by ONNX Runtime: like a quantized transformer, its
  activation scale is taken over the whole input tensor, so in a padded
  batch one item's logits move with its neighbours.
- ``embedder``: ``last_hidden_state`` is a one-hot row per word, so pooled
  cosine similarity is bag-of-words cosine.

Special and unknown tokens embed to zero, so padding and ``[CLS]``/``[SEP]``
change nothing. A ``poison`` word gets a token id past the end of the
embedding table: any text containing it makes ``session.run`` fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel

SPECIAL: Final = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
OPSET: Final = 17
POISON: Final = "boom"


@dataclass(frozen=True, slots=True)
class TinyModel:
    """Paths of a generated model and its tokenizer."""

    model: Path
    tokenizer: Path


def write_tokenizer(path: Path, words: Iterable[str], poison: str | None = POISON) -> dict[str, int]:
    """A word-level ``tokenizer.json`` (BERT-style templates); returns its vocabulary."""
    vocab = {token: i for i, token in enumerate(SPECIAL)}
    for word in words:
        vocab.setdefault(word.lower(), len(vocab))
    if poison is not None:
        vocab[poison] = len(vocab)  # one past the tables built from the other words
    unknown = SPECIAL[1]
    tokenizer = Tokenizer(WordLevel(vocab, unk_token=unknown))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.save(str(path))
    return vocab


def text_classifier(directory: Path, words: Sequence[str], triggers: Iterable[str]) -> TinyModel:
    """``[safe, injection]`` logits: bias plus 12 x the share of trigger words among the tokens."""
    vocab = write_tokenizer(directory / "tokenizer.json", [*words, *triggers])
    size = _table_size(vocab)
    table = np.zeros((size, 2), dtype=np.float32)
    for word in triggers:
        table[vocab[word.lower()], 1] = 12.0
    graph = _Graph(["input_ids", "attention_mask"])
    pooled = graph.masked_mean(graph.constant("table", table), "input_ids", "mask_f")
    graph.node("Add", [pooled, graph.constant("bias", np.array([0.0, -3.0], dtype=np.float32))], ["logits"])
    return graph.save(directory / "model.onnx", "logits", [None, 2])


def quantized_classifier(directory: Path, words: Sequence[str], triggers: Iterable[str]) -> TinyModel:
    """``[safe, injection]`` logits from the mean one-hot row times a weight matrix, int8 dynamic-quantized."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415 - needs onnx (dev)

    vocab = write_tokenizer(directory / "tokenizer.json", [*words, *triggers])
    weights = np.zeros((_table_size(vocab), 2), dtype=np.float32)
    weights[:, 0] = 1.0
    for word in triggers:
        weights[vocab[word.lower()], 1] = 12.0
    graph = _Graph(["input_ids", "attention_mask"])
    pooled = graph.masked_mean(graph.constant("table", _one_hot(vocab)), "input_ids", "mask_f")
    graph.node("MatMul", [pooled, graph.constant("weights", weights)], ["logits"])
    fp32 = graph.save(directory / "fp32.onnx", "logits", [None, 2])
    quantize_dynamic(fp32.model, directory / "model.onnx", weight_type=QuantType.QInt8)
    return TinyModel(directory / "model.onnx", fp32.tokenizer)


def embedder(directory: Path, words: Sequence[str]) -> TinyModel:
    """``last_hidden_state`` [batch, tokens, vocab]: each word's one-hot row (special tokens zero)."""
    vocab = write_tokenizer(directory / "tokenizer.json", words)
    graph = _Graph(["input_ids", "attention_mask"])
    graph.node("Gather", [graph.constant("table", _one_hot(vocab)), "input_ids"], ["last_hidden_state"])
    return graph.save(directory / "model.onnx", "last_hidden_state", [None, None, _table_size(vocab)])


def pair_classifier(directory: Path, words: Sequence[str]) -> TinyModel:
    """``[unsupported, supported]`` logits: ±10 x (share of hypothesis words found in the premise - 0.5)."""
    vocab = write_tokenizer(directory / "tokenizer.json", words)
    graph = _Graph(["input_ids", "attention_mask", "token_type_ids"])
    rows = graph.node("Gather", [graph.constant("table", _one_hot(vocab)), "input_ids"])
    types = graph.node("Cast", ["token_type_ids"], to=1)
    hyp_weight = graph.node("Mul", ["mask_f", types])
    prem_weight = graph.node("Sub", ["mask_f", hyp_weight])
    premise = graph.weighted_sum(rows, prem_weight)
    hypothesis = graph.weighted_sum(rows, hyp_weight)
    present = graph.node("Min", [premise, graph.constant("one", np.array(1.0, dtype=np.float32))])
    covered = graph.node("ReduceSum", [graph.node("Mul", [hypothesis, present]), graph.axes(1)], keepdims=1)
    total = graph.node("Max", [graph.node("ReduceSum", [hypothesis, graph.axes(1)], keepdims=1), "one"])
    share = graph.node("Div", [covered, total])
    centered = graph.node("Sub", [share, graph.constant("half", np.array(0.5, dtype=np.float32))])
    scale = graph.constant("scale", np.array([-10.0, 10.0], dtype=np.float32))
    graph.node("Mul", [centered, scale], ["logits"])
    return graph.save(directory / "model.onnx", "logits", [None, 2])


def _table_size(vocab: dict[str, int]) -> int:
    return len(vocab) - (1 if POISON in vocab else 0)


def _one_hot(vocab: dict[str, int]) -> np.ndarray[Any, np.dtype[np.float32]]:
    size = _table_size(vocab)
    table = np.eye(size, dtype=np.float32)
    table[: len(SPECIAL)] = 0.0  # padding, unknown words and templates carry no meaning
    return table


class _Graph:
    """A few helpers over ``onnx.helper`` for the graphs above."""

    def __init__(self, inputs: Sequence[str]) -> None:
        from onnx import TensorProto, helper  # noqa: PLC0415 - a dev dependency, only needed here

        self._helper = helper
        self._tensor = TensorProto
        self.inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, [None, None]) for n in inputs]
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0
        self.node("Cast", ["attention_mask"], ["mask_f"], to=1)

    def node(self, op: str, inputs: Sequence[str], outputs: Sequence[str] | None = None, **attrs: Any) -> str:  # noqa: ANN401
        self._count += 1
        names = list(outputs) if outputs is not None else [f"{op.lower()}_{self._count}"]
        self.nodes.append(self._helper.make_node(op, list(inputs), names, **attrs))
        return names[0]

    def constant(self, name: str, value: np.ndarray[Any, Any]) -> str:
        from onnx import numpy_helper  # noqa: PLC0415 - see __init__

        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def axes(self, *axes: int) -> str:
        return self.constant(f"axes_{self._count}_{len(self.initializers)}", np.array(axes, dtype=np.int64))

    def weighted_sum(self, rows: str, weights: str) -> str:
        """Σ over tokens of rows [B, L, D] x weights [B, L] → [B, D]."""
        expanded = self.node("Unsqueeze", [weights, self.axes(2)])
        return self.node("ReduceSum", [self.node("Mul", [rows, expanded]), self.axes(1)], keepdims=0)

    def masked_mean(self, table: str, ids: str, mask: str) -> str:
        """Mean over real tokens of ``table[ids]``: padding cannot change it."""
        total = self.weighted_sum(self.node("Gather", [table, ids]), mask)
        count = self.node("ReduceSum", [mask, self.axes(1)], keepdims=1)
        return self.node("Div", [total, count])

    def save(self, path: Path, output: str, shape: Sequence[int | None]) -> TinyModel:
        helper = self._helper
        out = helper.make_tensor_value_info(output, self._tensor.FLOAT, list(shape))
        graph = helper.make_graph(self.nodes, "tiny", self.inputs, [out], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        path.write_bytes(model.SerializeToString())
        return TinyModel(path, path.parent / "tokenizer.json")
