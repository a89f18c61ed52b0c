"""The validated, immutable form of a policy set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardd.circuit.config import CircuitsConfig, StoreConfig
from guardd.errors import Diagnostic
from guardd.guardrails.base import GuardrailConfig
from guardd.inference.config import ModelConfig
from guardd.slo.spec import SLOSettings, SLOSpec

POLICY_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
DEFAULT_POLICY = "default"
MiB = 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limits(_Strict):
    """Request limits; set at the top level, overridable per policy."""

    max_text_bytes: int = Field(default=MiB, ge=1, le=64 * MiB)


class RawPolicy(_Strict):
    """A policy entry before its guardrails are parsed by their own config classes."""

    description: str = ""
    extends: str | None = Field(default=None, pattern=POLICY_NAME)
    input: list[dict[str, Any]] = Field(default_factory=list)
    output: list[dict[str, Any]] = Field(default_factory=list)
    limits: Limits | None = None


class RawDocument(_Strict):
    """The top level of a policy set."""

    version: Literal[1]
    policies: dict[str, RawPolicy] = Field(min_length=1)
    limits: Limits = Limits()
    slos: tuple[SLOSpec, ...] = ()
    slo_settings: SLOSettings = SLOSettings()
    circuits: CircuitsConfig = CircuitsConfig()
    store: StoreConfig = StoreConfig()
    models: dict[str, ModelConfig] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """One named policy: the ordered guardrails of each stage, and its limits."""

    name: str
    input: tuple[GuardrailConfig, ...]
    output: tuple[GuardrailConfig, ...]
    limits: Limits
    description: str = ""

    def stage(self, stage: Literal["input", "output"]) -> tuple[GuardrailConfig, ...]:
        return self.input if stage == "input" else self.output


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every policy from one load of the policy path; ``version`` is its content hash."""

    version: str
    policies: Mapping[str, Policy]
    files: tuple[str, ...]
    base_dir: Path
    locations: Mapping[tuple[str, str, str], tuple[str, int, int]]
    """(policy, stage, guardrail name) → where that entry was written, for build errors."""
    slos: tuple[SLOSpec, ...] = ()
    slo_settings: SLOSettings = field(default_factory=SLOSettings)
    circuits: CircuitsConfig = field(default_factory=CircuitsConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    models: Mapping[str, ModelConfig] = field(default_factory=dict)
    model_locations: Mapping[tuple[str, str], tuple[str, int, int]] = field(default_factory=dict)
    """(model name, field) → where it was written; "" is the entry itself."""

    def model_diagnostic(self, model: str, key: str, message: str) -> Diagnostic:
        """A problem with ``models.<model>.<key>``, located at that field (or its entry)."""
        where = self.model_locations.get((model, key)) or self.model_locations.get((model, ""))
        file, line, column = where or (self.files[0], 1, 1)
        return Diagnostic(file, line, column, f"models.{model}.{key}: {message}")

    def diagnostic(self, policy: str, stage: str, guardrail: str, message: str) -> Diagnostic:
        file, line, column = self.locations.get((policy, stage, guardrail), (self.files[0], 1, 1))
        return Diagnostic(file, line, column, f"policies.{policy}.{stage} guardrail '{guardrail}': {message}")
