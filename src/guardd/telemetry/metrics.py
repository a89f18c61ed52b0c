"""guardd's Prometheus metrics, registered on a registry the caller owns.

Names follow ``guardd_<subsystem>_<name>_<unit>``. Label values come only
from policy (policy, stage, guardrail, category) or fixed enums, never from
requests, so cardinality is bounded by what an SRE wrote. Every label set a
policy can produce is created at 0 when the policy is installed, so rate()
and absent() behave from the first scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

VERDICTS = ("allow", "modify", "flag", "block")
STAGES = ("input", "output")
# Guardrails span microseconds (rules) to hundreds of milliseconds (models).
DURATION_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


@dataclass(frozen=True, slots=True)
class GuardrailLabels:
    """The label sets one configured guardrail can produce."""

    guardrail: str
    categories: tuple[str, ...]
    actions: tuple[str, ...]
    error_mode: str


class Metrics:
    """Every metric guardd exports, plus cached label children for the hot path."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "guardd_validate_requests", "Validate verdicts.", ["policy", "stage", "verdict"], registry=registry
        )
        self.request_duration = Histogram(
            "guardd_validate_duration_seconds",
            "Time to a verdict, in the pipeline.",
            ["policy", "stage"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.rejected = Counter(
            "guardd_validate_rejected",
            "Requests refused before the pipeline, by gRPC status.",
            ["code"],
            registry=registry,
        )
        self.guardrail_duration = Histogram(
            "guardd_guardrail_duration_seconds",
            "Time one guardrail took.",
            ["guardrail"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.findings = Counter(
            "guardd_guardrail_findings",
            "Findings, by the action applied.",
            ["guardrail", "category", "action"],
            registry=registry,
        )
        self.errors = Counter(
            "guardd_guardrail_errors",
            "Guardrail failures and timeouts, by the fail mode applied.",
            ["guardrail", "mode"],
            registry=registry,
        )
        self.skipped = Counter(
            "guardd_guardrail_skipped",
            "Guardrails not run because the deadline ran out.",
            ["guardrail"],
            registry=registry,
        )
        self.inflight = Gauge("guardd_inflight_requests", "RPCs being served now.", registry=registry)
        self.policy_info = Gauge(
            "guardd_policy_info", "The policy version in force (value 1).", ["version"], registry=registry
        )
        self.reloads = Counter("guardd_policy_reloads", "Policy versions installed.", registry=registry)
        self.reload_errors = Counter(
            "guardd_policy_reload_errors",
            "Policy reloads rejected; the last good policy stayed in force.",
            registry=registry,
        )
        self._version: str | None = None

    def install_policy(self, version: str, policies: Iterable[str], guardrails: Iterable[GuardrailLabels]) -> None:
        """Mark ``version`` as in force and create its label sets at 0."""
        if self._version is not None:
            self.policy_info.remove(self._version)
        self.policy_info.labels(version).set(1)
        self._version = version
        for policy in policies:
            for stage in STAGES:
                self.request_duration.labels(policy, stage)
                for verdict in VERDICTS:
                    self.requests.labels(policy, stage, verdict)
        for labels in guardrails:
            self._create_guardrail(labels)

    def _create_guardrail(self, labels: GuardrailLabels) -> None:
        self.guardrail_duration.labels(labels.guardrail)
        self.errors.labels(labels.guardrail, labels.error_mode)
        self.skipped.labels(labels.guardrail)
        for category in labels.categories:
            for action in labels.actions:
                self.findings.labels(labels.guardrail, category, action)
