"""Policy path → validated ``PolicySet``, or every problem as ``file:line:col: message``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import ValidationError

from guardd.circuit.config import CircuitsConfig, StoreConfig
from guardd.errors import Diagnostic, PolicyError
from guardd.guardrails.base import GuardrailConfig
from guardd.guardrails.registry import BUILTIN, Registry
from guardd.inference.policy import model_locations, model_name_problems
from guardd.policy.model import POLICY_NAME, Policy, PolicySet, RawDocument, RawPolicy
from guardd.policy.source import PathKey, SourceDocument, read_source
from guardd.slo.spec import SLOSettings, slo_problems

StageName = Literal["input", "output"]
_Origin = Callable[[PathKey], PathKey]
"""Maps a validation error's location to where that field was written."""
STAGES: tuple[StageName, ...] = ("input", "output")
VERSION_LENGTH = 12


def load_policy(root: Path, registry: Registry = BUILTIN) -> PolicySet:
    """Load, merge and validate the policy at ``root`` (a file or a directory).

    Raises ``PolicyError`` listing every problem found.
    """
    doc, problems = read_source(root)
    if problems and not doc.data:
        raise PolicyError(problems)
    raw = _validate_document(doc, problems)
    builder = _Builder(doc, raw, registry, problems) if raw is not None else None
    policies = builder.build() if builder is not None else {}
    if problems:
        # extends is resolved once per stage, so one bad reference would otherwise be reported twice.
        raise PolicyError(list(dict.fromkeys(problems)))
    return PolicySet(
        version=doc.digest[:VERSION_LENGTH],
        policies=MappingProxyType(policies),
        files=tuple(doc.files),
        base_dir=root if root.is_dir() else root.parent,
        locations=MappingProxyType(builder.locations if builder is not None else {}),
        slos=raw.slos if raw is not None else (),
        slo_settings=raw.slo_settings if raw is not None else SLOSettings(),
        circuits=raw.circuits if raw is not None else CircuitsConfig(),
        store=raw.store if raw is not None else StoreConfig(),
        models=MappingProxyType(dict(raw.models) if raw is not None else {}),
        model_locations=MappingProxyType(model_locations(doc, raw.models) if raw is not None else {}),
    )


def _validate_document(doc: SourceDocument, problems: list[Diagnostic]) -> RawDocument | None:
    try:
        raw = RawDocument.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(_diagnostics(doc, exc, lambda loc: loc))
        return None
    pattern = re.compile(POLICY_NAME)
    problems.extend(
        doc.diagnostic(("policies", name), f"policy name '{name}' must match {POLICY_NAME}")
        for name in raw.policies
        if not pattern.match(name)
    )
    problems.extend(doc.diagnostic(path, message) for path, message in slo_problems(raw.slos, raw.policies))
    problems.extend(model_name_problems(doc, raw.models))
    return raw


def _diagnostics(doc: SourceDocument, exc: ValidationError, origin: _Origin) -> list[Diagnostic]:
    result = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = origin(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
        result.append(doc.diagnostic(path, f"{_dotted(path)}: {message}"))
    return result


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


@dataclass
class _Entry:
    """A guardrail entry after ``extends`` merging, with each field's source path."""

    values: dict[str, Any]
    paths: dict[str, PathKey]
    path: PathKey

    def origin(self, loc: PathKey) -> PathKey:
        if loc and isinstance(loc[0], str) and loc[0] in self.paths:
            return (*self.paths[loc[0]], *loc[1:])
        return self.path


@dataclass
class _Builder:
    doc: SourceDocument
    raw: RawDocument
    registry: Registry
    problems: list[Diagnostic]
    _resolving: list[str] = field(default_factory=list)
    locations: dict[tuple[str, str, str], tuple[str, int, int]] = field(default_factory=dict)

    def build(self) -> dict[str, Policy]:
        return {name: self._policy(name, raw) for name, raw in self.raw.policies.items()}

    def _policy(self, name: str, raw: RawPolicy) -> Policy:
        stages = {stage: self._stage(name, stage) for stage in STAGES}
        return Policy(
            name=name,
            input=stages["input"],
            output=stages["output"],
            limits=raw.limits or self.raw.limits,
            description=raw.description,
        )

    def _stage(self, name: str, stage: StageName) -> tuple[GuardrailConfig, ...]:
        seen: set[str] = set()
        configs: list[GuardrailConfig] = []
        for entry in self._entries(name, stage):
            config = self._config(entry, stage)
            if config is None:
                continue
            self.locations[(name, stage, config.name)] = self.doc.locate(entry.path)
            if config.name in seen:
                where = entry.paths.get("name", entry.path)
                message = f"guardrail name '{config.name}' is used twice in this stage"
                self.problems.append(self.doc.diagnostic(where, f"{_dotted(entry.path)}: {message}"))
            seen.add(config.name)
            if config.enabled:
                configs.append(config)
        return tuple(configs)

    def _entries(self, name: str, stage: StageName) -> list[_Entry]:
        """The stage's entries with ``extends`` applied: same name overrides in place, new ones append."""
        raw = self.raw.policies[name]
        inherited = self._inherited(name, raw, stage)
        by_name = {str(e.values.get("name")): e for e in inherited}
        for index, values in enumerate(raw.input if stage == "input" else raw.output):
            path: PathKey = ("policies", name, stage, index)
            own = _Entry(dict(values), {key: (*path, key) for key in values}, path)
            base = by_name.get(str(values.get("name")))
            if base is None:
                inherited.append(own)
                by_name[str(values.get("name"))] = own
            else:
                base.values.update(own.values)
                base.paths.update(own.paths)
        return inherited

    def _inherited(self, name: str, raw: RawPolicy, stage: StageName) -> list[_Entry]:
        parent = raw.extends
        if parent is None:
            return []
        here: PathKey = ("policies", name, "extends")
        if parent not in self.raw.policies:
            self.problems.append(self.doc.diagnostic(here, f"extends unknown policy '{parent}'"))
            return []
        if parent in self._resolving or parent == name:
            chain = " -> ".join([*self._resolving, name, parent])
            self.problems.append(self.doc.diagnostic(here, f"extends forms a cycle: {chain}"))
            return []
        self._resolving.append(name)
        try:
            return self._entries(parent, stage)
        finally:
            self._resolving.pop()

    def _config(self, entry: _Entry, stage: StageName) -> GuardrailConfig | None:
        kind = entry.values.get("type")
        config_class = self.registry.get(kind) if isinstance(kind, str) else None
        if config_class is None:
            known = ", ".join(sorted(self.registry))
            where = entry.paths.get("type", entry.path)
            message = f"unknown guardrail type {kind!r}; known types: {known}" if kind else "missing 'type'"
            self.problems.append(self.doc.diagnostic(where, f"{_dotted(entry.path)}: {message}"))
            return None
        try:
            config = config_class.model_validate(entry.values)
        except ValidationError as exc:
            self.problems.extend(_diagnostics(self.doc, exc, entry.origin))
            return None
        if stage not in config.stages:
            allowed = ", ".join(sorted(config.stages))
            message = f"guardrail type '{kind}' cannot run in the {stage} stage (only: {allowed})"
            self.problems.append(self.doc.diagnostic(entry.path, f"{_dotted(entry.path)}: {message}"))
        return config


def describe(policy_set: PolicySet) -> Mapping[str, Mapping[str, list[str]]]:
    """Policy → stage → guardrail names, for logs and ``guardd check``."""
    return {
        name: {stage: [g.name for g in policy.stage(stage)] for stage in STAGES}
        for name, policy in policy_set.policies.items()
    }
