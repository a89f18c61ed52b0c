"""The ``slos:`` and ``slo_settings:`` sections of policy YAML, as frozen models.

Validated by the policy loader with the rest of the document, so every error
is reported as ``file:line:col: message`` like any other policy error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

SLO_NAME = r"^[a-z][a-z0-9_-]{0,62}$"
"""Lower-case, so a name is usable as is in label values, rule names and alert names."""
ALERT_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,126}$"

SLIKind = Literal["availability", "goodput", "hallucination_free", "refusal_free", "format_ok", "latency", "ttft"]
THRESHOLD_KINDS: frozenset[SLIKind] = frozenset({"latency", "ttft"})

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
DAY = 86400.0


def parse_duration(value: object) -> object:
    """``"30d"`` → seconds; anything else is handed on for pydantic to reject."""
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match is None:
            raise ValueError(f"'{value}' is not a duration; write e.g. 30s, 5m, 1h, 30d")
        return int(match.group(1)) * _UNITS[match.group(2)]
    return value


def format_duration(seconds: float) -> str:
    """Seconds → the shortest exact Prometheus duration (``300`` → ``5m``), down to milliseconds."""
    millis = round(seconds * 1000)
    for unit in ("w", "d", "h", "m", "s"):
        size = round(_UNITS[unit] * 1000)
        if millis >= size and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{max(millis, 1)}ms"


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SLOSpec(_Strict):
    """One SLO: an SLI, its objective over a period, and the policies it applies to.

    Tracked per policy and per upstream: every (policy, upstream) pair gets its
    own series, windows and alerts.
    """

    name: str = Field(pattern=SLO_NAME)
    sli: SLIKind
    objective: float = Field(gt=0, lt=1, description="share of good events, e.g. 0.99")
    period: Duration = Field(default=30 * DAY, ge=DAY, le=90 * DAY)
    threshold_ms: float | None = Field(default=None, gt=0, le=3_600_000)
    policies: tuple[str, ...] = ()
    """Policies this SLO applies to; empty means every policy."""
    min_events: int = Field(default=20, ge=1, le=1_000_000)
    """An alert's long window must hold at least this many events: low traffic never pages."""
    alert_name: str | None = Field(default=None, pattern=ALERT_NAME)
    description: str = ""

    @model_validator(mode="after")
    def _threshold_matches_sli(self) -> Self:
        if self.sli in THRESHOLD_KINDS and self.threshold_ms is None:
            raise ValueError(f"sli '{self.sli}' needs threshold_ms: the SLI is the share of calls under it")
        if self.sli not in THRESHOLD_KINDS and self.threshold_ms is not None:
            raise ValueError(f"threshold_ms only applies to the latency and ttft SLIs, not '{self.sli}'")
        return self

    @property
    def error_budget(self) -> float:
        """The share of events allowed to be bad."""
        return round(1 - self.objective, 12)

    @property
    def alert(self) -> str:
        """The alert name in generated rules: ``alert_name``, or ``Guardd<Name>BudgetBurn``."""
        if self.alert_name:
            return self.alert_name
        camel = "".join(part.capitalize() for part in re.split(r"[_-]", self.name))
        return f"Guardd{camel}BudgetBurn"

    def applies_to(self, policy: str) -> bool:
        return not self.policies or policy in self.policies


class SLOSettings(_Strict):
    """Bounds on what SLO tracking may hold in memory and in label values."""

    max_upstreams: int = Field(default=64, ge=1, le=10_000)
    """Distinct upstream label values; later upstreams are counted as ``other``."""
    join_timeout: Duration = Field(default=30.0, ge=0.001, le=3600)
    """How long an outcome waits for its output verdict (and back) before it counts alone."""
    max_pending: int = Field(default=100_000, ge=1, le=10_000_000)
    """Outcomes and verdicts waiting for their other half; beyond this the oldest counts alone."""


def slo_problems(slos: Iterable[SLOSpec], policies: Iterable[str]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Cross-field problems (duplicate names, unknown policies) as (YAML path, message)."""
    known = set(policies)
    seen: set[str] = set()
    for index, slo in enumerate(slos):
        if slo.name in seen:
            yield ("slos", index, "name"), f"slos[{index}].name: SLO name '{slo.name}' is used twice"
        seen.add(slo.name)
        for position, policy in enumerate(slo.policies):
            if policy not in known:
                message = (
                    f"slos[{index}].policies[{position}]: unknown policy '{policy}'; known: {', '.join(sorted(known))}"
                )
                yield ("slos", index, "policies", position), message


def period_days(slo: SLOSpec) -> float:
    """The period in days, for ``slo:time_period:days``."""
    days = slo.period / DAY
    return int(days) if math.isclose(days, round(days)) else days
