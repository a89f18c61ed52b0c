"""Fine-tune a BERT-style encoder as a 2-class (pair) classifier on CPU, reproducibly (torch; train extra)."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardd.training.data import Example


@dataclass(frozen=True, slots=True)
class Settings:
    """Hyper-parameters; the defaults are what the shipped models were trained with."""

    labels: tuple[str, str]
    """Column 0 and column 1 of the classifier, e.g. (safe, injection)."""
    steps: int = 400
    batch_size: int = 16
    max_length: int = 128
    learning_rate: float = 5e-5
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    seed: int = 7
    threads: int = 2
    freeze_embeddings: bool = True
    """Keep the word embeddings fixed: a third cheaper per step, and the pre-trained vocabulary (German,
    code, rare tokens) survives. A pair task from a bi-encoder base needs them free to learn at all."""


def finetune(base: Path, examples: Sequence[Example], settings: Settings, out: Path) -> dict[str, float]:
    """Train from ``base`` for ``settings.steps`` steps, save a HF directory to ``out``; return run stats."""
    import torch  # noqa: PLC0415 - train extra only
    from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: PLC0415

    _seed(settings.seed, torch)
    torch.set_num_threads(settings.threads)
    tokenizer = AutoTokenizer.from_pretrained(base)
    id2label = dict(enumerate(settings.labels))
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=2, id2label=id2label, label2id={v: k for k, v in id2label.items()}
    )
    if settings.freeze_embeddings:  # the 30k x 384 word embeddings are half the weights
        model.get_input_embeddings().weight.requires_grad_(requires_grad=False)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    warmup = max(1, int(settings.steps * settings.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (settings.steps - s) / (settings.steps - warmup)))
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(_class_weights(examples), dtype=torch.float32))
    order = _batches(len(examples), settings)
    started, total = time.monotonic(), 0.0
    for step, indices in enumerate(order):
        batch = [examples[i] for i in indices]
        inputs = _tokenize(tokenizer, batch, settings.max_length)
        logits = model(**inputs).logits
        loss = loss_fn(logits, torch.tensor([e.label for e in batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        total += float(loss.detach())
        if (step + 1) % 25 == 0:
            sys.stdout.write(
                f"step {step + 1}/{settings.steps} loss {total / 25:.4f} {time.monotonic() - started:.0f}s" + "\n"
            )
            sys.stdout.flush()
            total = 0.0
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"train_seconds": round(time.monotonic() - started, 1), "examples": len(examples), "steps": settings.steps}


def _seed(seed: int, torch: Any) -> None:  # noqa: ANN401 - the torch module
    random.seed(seed)
    torch.manual_seed(seed)


def _class_weights(examples: Sequence[Example]) -> list[float]:
    """Inverse class frequency, so a positives-heavy mix (JailbreakBench) does not bias the threshold."""
    positives = sum(e.label for e in examples)
    negatives = len(examples) - positives
    return [len(examples) / (2 * max(1, negatives)), len(examples) / (2 * max(1, positives))]


def _batches(count: int, settings: Settings) -> list[list[int]]:
    """Shuffled epochs, cut into batches, until ``steps`` batches; the same seed gives the same order."""
    rng = random.Random(settings.seed)  # noqa: S311 - reproducible order, not security
    batches: list[list[int]] = []
    while len(batches) < settings.steps:
        epoch = list(range(count))
        rng.shuffle(epoch)
        batches += [epoch[i : i + settings.batch_size] for i in range(0, count, settings.batch_size)]
    return batches[: settings.steps]


def _tokenize(tokenizer: Any, batch: Sequence[Example], max_length: int) -> Any:  # noqa: ANN401 - HF types
    texts = [e.text for e in batch]
    if batch[0].pair is not None:
        pairs = [e.pair or "" for e in batch]
        return tokenizer(texts, pairs, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def calibrate(source: Path, slope: float, offset: float, out: Path) -> None:
    """Fold ``sigmoid(slope * logit + offset)`` into a 2-class head, so the exported softmax is calibrated.

    Softmax over two logits is the sigmoid of their difference: the new head puts ``slope`` times that
    difference plus ``offset`` in column 1 and zero in column 0.
    """
    import torch  # noqa: PLC0415 - train extra only
    from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: PLC0415

    model = AutoModelForSequenceClassification.from_pretrained(source)
    head = model.classifier
    with torch.no_grad():
        weight = slope * (head.weight[1] - head.weight[0])
        bias = slope * (head.bias[1] - head.bias[0]) + offset
        head.weight.zero_()
        head.bias.zero_()
        head.weight[1] = weight
        head.bias[1] = bias
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
