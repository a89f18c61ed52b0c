"""A loaded policy set with its guardrails built: the snapshot a request reads once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from guardd.errors import Diagnostic, PolicyError
from guardd.guardrails.base import BuildEnv, Guardrail, GuardrailConfig
from guardd.policy.model import Policy, PolicySet
from guardd.telemetry.metrics import GuardrailLabels


@dataclass(frozen=True, slots=True)
class Step:
    """One configured guardrail, built."""

    config: GuardrailConfig
    guardrail: Guardrail

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True, slots=True)
class PolicyPlan:
    """How one policy's stages run.

    INPUT runs in declared order and stops at the first block. OUTPUT first
    runs, in declared order, the guardrails that may modify the text (so each
    sees the previous one's redaction or repair), then runs the rest
    concurrently on the result.
    """

    policy: Policy
    input: tuple[Step, ...]
    output_chain: tuple[Step, ...]
    output_parallel: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable, fully built policy set; swapped atomically on reload."""

    policies: PolicySet
    plans: Mapping[str, PolicyPlan]

    @property
    def version(self) -> str:
        return self.policies.version

    def guardrail_labels(self) -> Iterator[GuardrailLabels]:
        """Every guardrail's possible metric label sets."""
        for plan in self.plans.values():
            for step in (*plan.input, *plan.output_chain, *plan.output_parallel):
                config = step.config
                actions = {config.on_fail, "modify"} if config.may_modify else {config.on_fail}
                yield GuardrailLabels(config.name, config.categories, tuple(sorted(actions)), config.on_error)


def build_snapshot(policies: PolicySet, env: BuildEnv) -> Snapshot:
    """Build every guardrail of every policy; ``PolicyError`` lists each one that cannot be built."""
    problems: list[Diagnostic] = []
    plans = {name: _plan(policies, policy, env, problems) for name, policy in policies.policies.items()}
    if problems:
        raise PolicyError(problems)
    return Snapshot(policies, MappingProxyType(plans))


def _plan(policies: PolicySet, policy: Policy, env: BuildEnv, problems: list[Diagnostic]) -> PolicyPlan:
    def steps(stage: str, configs: tuple[GuardrailConfig, ...]) -> tuple[Step, ...]:
        built = []
        for config in configs:
            try:
                built.append(Step(config, config.build(env)))
            except (ValueError, OSError) as exc:
                problems.append(policies.diagnostic(policy.name, stage, config.name, f"cannot build: {exc}"))
        return tuple(built)

    output = steps("output", policy.output)
    return PolicyPlan(
        policy=policy,
        input=steps("input", policy.input),
        output_chain=tuple(s for s in output if s.config.may_modify),
        output_parallel=tuple(s for s in output if not s.config.may_modify),
    )
