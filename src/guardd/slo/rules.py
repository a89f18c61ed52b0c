"""Prometheus recording and alerting rules for a policy's SLOs, Sloth-compatible.

Per SLO, three rule groups, named and labelled as Sloth names them so its
dashboards work unchanged:

- ``slo:sli_error:ratio_rate<window>``: the error ratio per (policy, upstream),
  from ``guardd_sli_events_total`` summed over every replica;
- metadata: ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:time_period:days``, ``slo:current_burn_rate:ratio``,
  ``slo:period_burn_rate:ratio``, ``slo:period_error_budget_remaining:ratio``,
  ``sloth_slo_info``;
- the SRE workbook's multi-window multi-burn-rate alerts: page at 14.4x over
  1h and 5m or 6x over 6h and 30m; ticket at 3x over 1d and 2h or 1x over 3d and 6h.

Zero traffic: the denominator is clamped above 0, so a silent upstream has an
error ratio of 0, never NaN. Low traffic: an alert also needs ``min_events``
events in its long window, so one failure out of three calls never pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from guardd.slo.spec import SLOSpec, format_duration, period_days
from guardd.slo.window import WINDOWS

METRIC = "guardd_sli_events_total"
SERVICE = "guardd"
BY = "policy, upstream"
ID_LABELS = ("sloth_id", "sloth_service", "sloth_slo")


@dataclass(frozen=True, slots=True)
class Burn:
    """One alert condition: the burn rate both windows must exceed."""

    severity: str
    factor: float
    long: str
    short: str


BURNS = (
    Burn("page", 14.4, "1h", "5m"),
    Burn("page", 6, "6h", "30m"),
    Burn("ticket", 3, "1d", "2h"),
    Burn("ticket", 1, "3d", "6h"),
)


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """How to render the rules."""

    window_scale: float = 1.0
    """Multiplies every PromQL range, for tests and demos only (1/60 turns 1h into 1m). Rule names keep the nominal window."""
    selector: str = ""
    """Extra label matchers for guardd's series, e.g. ``namespace="prod"``."""


def rule_groups(slos: Iterable[SLOSpec], options: RuleOptions = RuleOptions()) -> list[dict[str, Any]]:
    """Every rule group for ``slos``, ready to dump as YAML."""
    groups: list[dict[str, Any]] = []
    for slo in slos:
        rules = _SLORules(slo, options)
        groups += [rules.sli_group(), rules.meta_group(), rules.alert_group()]
    return groups


def prometheus_rule(groups: list[dict[str, Any]], name: str, namespace: str | None) -> dict[str, Any]:
    """The groups wrapped as a Prometheus Operator ``PrometheusRule`` resource."""
    metadata: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": "guardd"}}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": groups},
    }


class _SLORules:
    def __init__(self, slo: SLOSpec, options: RuleOptions) -> None:
        self.slo = slo
        self.options = options
        self.id = f"{SERVICE}-{slo.name}"
        self.period = format_duration(slo.period)
        self.labels = {"sloth_id": self.id, "sloth_service": SERVICE, "sloth_slo": slo.name}

    def _events(self, *, bad: bool = False) -> str:
        matchers = [f'slo="{self.slo.name}"']
        if bad:
            matchers.append('good="false"')
        if self.slo.policies:
            matchers.append(f'policy=~"{"|".join(self.slo.policies)}"')
        if self.options.selector:
            matchers.append(self.options.selector)
        return f"{METRIC}{{{', '.join(matchers)}}}"

    def _range(self, window: str, seconds: float) -> str:
        del window  # the name stays nominal; only the range is scaled
        return format_duration(max(seconds * self.options.window_scale, 1.0))

    def _ratio(self, window: str, seconds: float) -> dict[str, Any]:
        span = self._range(window, seconds)
        expr = (
            f"sum by ({BY}) (rate({self._events(bad=True)}[{span}]))\n"
            f"/\n"
            f"clamp_min(sum by ({BY}) (rate({self._events()}[{span}])), 1e-12)"
        )
        labels = {**self.labels, "sloth_window": window}
        return {"record": f"slo:sli_error:ratio_rate{window}", "expr": expr, "labels": labels}

    def sli_group(self) -> dict[str, Any]:
        windows = {**WINDOWS, self.period: self.slo.period}
        rules = [self._ratio(window, seconds) for window, seconds in windows.items()]
        return {"name": f"sloth-slo-sli-recordings-{self.id}", "rules": rules}

    def _select(self, metric: str) -> str:
        return f'{metric}{{sloth_id="{self.id}", sloth_service="{SERVICE}", sloth_slo="{self.slo.name}"}}'

    def meta_group(self) -> dict[str, Any]:
        on = f"on ({', '.join(ID_LABELS)}) group_left"
        budget = self._select("slo:error_budget:ratio")
        info = {**self.labels, "sloth_mode": "cli-gen-prom", "sloth_objective": f"{self.slo.objective * 100:g}"}
        rules = [
            {"record": "slo:objective:ratio", "expr": f"vector({self.slo.objective!r})", "labels": self.labels},
            {"record": "slo:error_budget:ratio", "expr": f"vector({self.slo.error_budget!r})", "labels": self.labels},
            {"record": "slo:time_period:days", "expr": f"vector({period_days(self.slo)})", "labels": self.labels},
            {
                "record": "slo:current_burn_rate:ratio",
                "expr": f"{self._select('slo:sli_error:ratio_rate5m')}\n/ {on}\n{budget}",
                "labels": self.labels,
            },
            {
                "record": "slo:period_burn_rate:ratio",
                "expr": f"{self._select(f'slo:sli_error:ratio_rate{self.period}')}\n/ {on}\n{budget}",
                "labels": self.labels,
            },
            {
                "record": "slo:period_error_budget_remaining:ratio",
                "expr": f"1 - {self._select('slo:period_burn_rate:ratio')}",
                "labels": self.labels,
            },
            {"record": "sloth_slo_info", "expr": "vector(1)", "labels": info},
        ]
        return {"name": f"sloth-slo-meta-recordings-{self.id}", "rules": rules}

    def _condition(self, burn: Burn) -> str:
        threshold = f"({burn.factor:g} * {self.slo.error_budget!r})"
        long_range = self._range(burn.long, WINDOWS[burn.long])
        return (
            "(\n"
            f"  max({self._select(f'slo:sli_error:ratio_rate{burn.short}')} > {threshold}) without (sloth_window)\n"
            "  and\n"
            f"  max({self._select(f'slo:sli_error:ratio_rate{burn.long}')} > {threshold}) without (sloth_window)\n"
            f"  and on ({BY})\n"
            f"  sum by ({BY}) (increase({self._events()}[{long_range}])) >= {self.slo.min_events}\n"
            ")"
        )

    def _alert(self, severity: str) -> dict[str, Any]:
        burns = [b for b in BURNS if b.severity == severity]
        what = "fast: act now" if severity == "page" else "slowly: look within a day"
        return {
            "alert": self.slo.alert,
            "expr": "\nor\n".join(self._condition(b) for b in burns),
            "labels": {"severity": severity, "sloth_severity": severity, "slo": self.slo.name},
            "annotations": {
                "summary": f"SLO '{self.slo.name}' ({self.slo.sli}) of {{{{ $labels.upstream }}}} "
                f"(policy {{{{ $labels.policy }}}}) is burning its error budget {what}",
                "description": f"Error ratio {{{{ $value | humanizePercentage }}}} against a budget of "
                f"{self.slo.error_budget * 100:g}% over {self.period}. Check GetSLOStatus and the upstream's breaker.",
            },
        }

    def alert_group(self) -> dict[str, Any]:
        return {"name": f"sloth-slo-alerts-{self.id}", "rules": [self._alert("page"), self._alert("ticket")]}


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line PromQL, so the rules read as an SRE would write them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def render(document: dict[str, Any], header: str) -> str:
    """YAML text of ``document`` under a ``#`` comment ``header``."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
