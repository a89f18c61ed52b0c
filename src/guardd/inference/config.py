"""The ``models:`` section of policy YAML: one typed, frozen entry per model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

Task = Literal["pair-classification", "text-classification", "embedding"]
Device = Literal["auto", "cpu", "cuda"]
Activation = Literal["auto", "softmax", "sigmoid", "none"]
Padding = Literal["none", "buckets"]
Role = Literal["input_ids", "attention_mask", "token_type_ids"]

MODEL_NAME = r"^[a-z][a-z0-9_-]{0,62}$"
SHA256 = r"^[0-9a-f]{64}$"
MAX_CONCURRENCY = 16


def _concurrency(value: object) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CONCURRENCY:
        return value
    raise ValueError(f"must be 'auto' (one per CPU) or a whole number from 1 to {MAX_CONCURRENCY}, not {value!r}")


Concurrency = Annotated[int | Literal["auto"], PlainValidator(_concurrency)]

DEFAULT_LABELS: dict[Task, tuple[str, ...]] = {
    "pair-classification": ("unsupported", "supported"),
    "text-classification": ("safe", "injection"),
    "embedding": (),
}


class ModelConfig(BaseModel):
    """One model: its files, what it computes, and how requests are batched into it.

    ``inputs`` maps the roles guardd feeds (token ids, attention mask, token
    type ids) to the graph's input names; left out, the standard Hugging Face
    names are used. ``labels`` names the classifier's output columns in order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    path: str = Field(min_length=1)
    tokenizer: str = Field(min_length=1)
    """A Hugging Face ``tokenizer.json``."""
    task: Task
    inputs: dict[Role, str] | None = None
    output: str | None = None
    """The graph output to read; left out, the first one."""
    labels: tuple[str, ...] | None = None
    activation: Activation = "auto"
    """How logits become probabilities: auto is softmax over 2+ columns, sigmoid over one."""
    max_length: int = Field(default=256, ge=8, le=8192)
    max_batch: int = Field(default=16, ge=1, le=1024)
    max_wait_ms: float = Field(default=2.0, ge=0.0, le=1000.0)
    device: Device = "auto"
    padding: Padding = "none"
    """How a closed batch reaches the graph. ``none``: each item runs alone at its own length, so no token
    is padding and an item's score never depends on the others in its batch (int8 dynamic quantization
    scales activations over the whole input tensor: batched, 81 of 1,776 verdicts flipped with load).
    On CPU one item at a time costs no more than a padded batch (MiniLM int8, 16 x 128 tokens: 88 vs
    97 ms). ``buckets``: items of similar length share one padded run, for a GPU running an fp32/fp16
    model, where one wide run costs about what a narrow one does."""
    intra_op_threads: int | None = Field(default=None, ge=1, le=256)
    """Threads inside one session.run; left out, one per CPU this process may use."""
    inter_op_threads: int = Field(default=1, ge=1, le=64)
    concurrency: Concurrency = 1
    """Batches of this model running at once; ``auto``: one per CPU this process may use (at most 4).

    With the default intra-op threads keep 1: a second batch only competes for the cores the first
    already uses. With ``intra_op_threads: 1`` and ``auto``, what closes is split across the cores
    instead (data parallelism), which runs MiniLM-size batches faster than intra-op threads do."""
    sha256: str | None = Field(default=None, pattern=SHA256)
    """Pin the model file's content; checked at every load."""

    @model_validator(mode="after")
    def _labels_fit_task(self) -> ModelConfig:
        if self.task == "embedding" and self.labels:
            raise ValueError("an embedding model has no labels")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be distinct")
        return self

    @property
    def label_names(self) -> tuple[str, ...]:
        """The output columns' names, declared or the task's defaults."""
        return self.labels if self.labels is not None else DEFAULT_LABELS[self.task]

    @property
    def input_names(self) -> dict[Role, str]:
        """Role → graph input name."""
        if self.inputs is not None:
            return dict(self.inputs)
        return {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": "token_type_ids"}
