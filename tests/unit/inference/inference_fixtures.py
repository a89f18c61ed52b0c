"""Tiny generated models loaded through the real registry, for the inference and guardrail tests."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from prometheus_client import CollectorRegistry

from guardd.clock import SystemClock
from guardd.inference.config import ModelConfig
from guardd.inference.metrics import InferenceMetrics
from guardd.inference.model import ModelSet
from guardd.inference.registry import ModelRegistry
from guardd.inference.testing import embedder, pair_classifier, text_classifier
from guardd.policy.model import PolicySet

WORDS = [
    "the",
    "sky",
    "is",
    "blue",
    "paris",
    "capital",
    "of",
    "france",
    "eiffel",
    "tower",
    "was",
    "built",
    "in",
    "completed",
    "located",
    "moon",
    "made",
    "cheese",
    "company",
    "revenue",
    "grew",
    "percent",
    "year",
    "launched",
    "product",
    "new",
    "york",
    "london",
    "berlin",
    "population",
    "million",
    "people",
    "river",
    "flows",
    "through",
    "city",
    "water",
    "a",
    "an",
    "and",
    "it",
    "its",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "as",
    "are",
    "were",
    "be",
    "this",
    "that",
]
TRIGGERS = ("ignore", "previous", "instructions", "jailbreak")


def build_tiny_models(root: Path) -> dict[str, Path]:
    """classifier/, pair/ and embedder/ under ``root``; returns each directory."""
    dirs = {name: root / name for name in ("classifier", "pair", "embedder")}
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    text_classifier(dirs["classifier"], WORDS, TRIGGERS)
    pair_classifier(dirs["pair"], WORDS)
    embedder(dirs["embedder"], WORDS)
    return dirs


def model_config(directory: str, task: str, **settings: object) -> ModelConfig:
    return ModelConfig.model_validate(
        {"path": f"{directory}/model.onnx", "tokenizer": f"{directory}/tokenizer.json", "task": task, **settings}
    )


def policy_with(base: Path, models: dict[str, ModelConfig]) -> PolicySet:
    return PolicySet("v1", MappingProxyType({}), (str(base / "p.yaml"),), base, {}, models=models)


def new_registry(registry: CollectorRegistry | None = None) -> ModelRegistry:
    return ModelRegistry(InferenceMetrics(registry or CollectorRegistry()), SystemClock())


def load(base: Path, models: dict[str, ModelConfig], registry: ModelRegistry | None = None) -> ModelSet:
    return (registry or new_registry()).load(policy_with(base, models))
