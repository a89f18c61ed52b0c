"""Texts → padded token arrays, and raw outputs → per-item scores or vectors.

Everything here runs in the inference thread, after a batch has closed: the
event loop only queues strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from tokenizers import Encoding, Tokenizer

from guardd.inference.config import ModelConfig, Role
from guardd.inference.session import FloatArray, IntArray

Item = str | tuple[str, str]
"""One text, or a (premise, hypothesis) pair for pair classification."""

_TOKEN_STATES_RANK: Final = 3
MAX_PAD_RATIO: Final = 1.5
"""A sub-batch grows while its padded size stays within this factor of its real tokens."""


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """A ``tokenizer.json`` set to truncate at ``max_length`` and never pad (we pad per sub-batch)."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    return tokenizer


def encode(tokenizer: Tokenizer, items: Sequence[Item]) -> list[Encoding]:
    """Encode a batch; pairs and single texts may not mix (one model has one task)."""
    return list(tokenizer.encode_batch(list(items)))


def sub_batches(lengths: Sequence[int], max_pad_ratio: float = MAX_PAD_RATIO) -> list[list[int]]:
    """Indices grouped by length so no group is padded past ``max_pad_ratio`` x its real tokens.

    Sorting first means one long input is padded alone instead of bloating
    every short one: attention cost grows with the padded length squared.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    real = 0
    for index in order:
        length = lengths[index]
        group = groups[-1] if groups else None
        # Sorted ascending, so ``length`` is the group's new longest.
        if group is not None and length * (len(group) + 1) <= max_pad_ratio * (real + length):
            group.append(index)
            real += length
        else:
            groups.append([index])
            real = length
    return groups


def pad(encodings: Sequence[Encoding]) -> dict[Role, IntArray]:
    """Right-pad to the longest encoding with zeros; the attention mask marks the real tokens.

    Every role is built (pooling needs the mask even when the graph does not take it);
    the session feeds only the ones its graph has.
    """
    width = max(len(e.ids) for e in encodings)
    roles: tuple[Role, ...] = ("input_ids", "attention_mask", "token_type_ids")
    arrays = {role: np.zeros((len(encodings), width), dtype=np.int64) for role in roles}
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        arrays["input_ids"][row, :n] = encoding.ids
        arrays["attention_mask"][row, :n] = 1
        arrays["token_type_ids"][row, :n] = encoding.type_ids
    return arrays


@dataclass(frozen=True, slots=True)
class Postprocess:
    """Turns one sub-batch's output into one vector per item."""

    config: ModelConfig

    def __call__(self, output: FloatArray, mask: IntArray) -> list[FloatArray]:
        if self.config.task == "embedding":
            return list(_embeddings(output, mask))
        return list(self._probabilities(output))

    def _probabilities(self, logits: FloatArray) -> FloatArray:
        activation = self.config.activation
        if activation == "auto":
            activation = "sigmoid" if logits.shape[1] == 1 else "softmax"
        if activation == "sigmoid":
            sigmoid: FloatArray = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
            return sigmoid
        if activation == "softmax":
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            softmax: FloatArray = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
            return softmax
        return logits


def _embeddings(output: FloatArray, mask: IntArray) -> FloatArray:
    """Mean of the real tokens' states (rank 3) or the pooled vector (rank 2), L2-normalised."""
    if output.ndim == _TOKEN_STATES_RANK:
        weights = mask[:, :, None].astype(np.float32)
        pooled = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    else:
        pooled = output
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: FloatArray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
