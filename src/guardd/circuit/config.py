"""The ``circuits:`` and ``store:`` policy sections, validated into frozen models.

``circuits`` hot-reloads with the policy. ``store`` is read once at start (a
process setting, like a listen port): a changed ``store`` on reload is logged
and takes effect on restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from guardd.errors import Diagnostic, PolicyError
from guardd.events import HARD, SOFT

# Threshold keys: every failure category, plus "hard" and "soft" (any hard / any soft failure) and "slow".
THRESHOLD_KEYS: frozenset[str] = frozenset({"hard", "soft", *HARD, *SOFT})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
Override = Literal["none", "forced_open", "disabled"]
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def parse_duration(value: object) -> float:
    """Seconds from ``250ms`` / ``30s`` / ``5m`` / ``1h`` or a bare number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"invalid duration {value!r}; use e.g. 30s, 250ms, 5m")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BreakerConfig(_Strict):
    """One upstream's breaker (resilience4j semantics); durations are seconds once parsed."""

    window_type: Literal["count", "time"] = "count"
    window: int = Field(default=100, ge=1, le=100_000)
    """Calls per stream (count) or seconds (time), per replica."""
    min_calls: int = Field(default=20, ge=1)
    thresholds: dict[str, float] = Field(default_factory=lambda: {"hard": 0.5})
    slow_call_ms: float | None = Field(default=None, gt=0)
    slow_call_rate: float = Field(default=1.0, gt=0, le=1)
    open_for: float = 30.0
    backoff: float = Field(default=1.0, ge=1, le=10)
    """Each re-open from HALF_OPEN multiplies ``open_for`` by this, up to ``max_open_for``."""
    max_open_for: float = 300.0
    half_open_calls: int = Field(default=5, ge=1, le=1000)
    probe_timeout: float = 10.0
    """A claimed half-open probe that produces no outcome is released after this."""
    override: Override = "none"

    @field_validator("open_for", "max_open_for", "probe_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for key, rate in value.items():
            if key not in THRESHOLD_KEYS:
                raise ValueError(f"unknown failure category '{key}'; known: {', '.join(sorted(THRESHOLD_KEYS))}")
            if not 0 < rate <= 1:
                raise ValueError(f"threshold '{key}' must be a rate in (0, 1], got {rate}")
        return value


class CircuitsConfig(_Strict):
    """The ``circuits:`` section: a default breaker, per-upstream overrides, and a tracking cap."""

    enabled: bool = True
    default: BreakerConfig = BreakerConfig()
    upstreams: dict[str, BreakerConfig] = Field(default_factory=dict)
    """Upstream name → the fields that differ from ``default`` (a ``thresholds`` map replaces the default's)."""
    max_upstreams: int = Field(default=1000, ge=1, le=100_000)
    """Upstream names come from requests; beyond this many, new names are not tracked."""
    _resolved: Mapping[str, BreakerConfig] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _resolve(self) -> CircuitsConfig:
        # A plain dict: pydantic deep-copies defaults, and a mappingproxy cannot be copied. Never mutated.
        self._resolved = {
            name: self.default.model_copy(update=entry.model_dump(include=entry.model_fields_set))
            for name, entry in self.upstreams.items()
        }
        return self

    def for_upstream(self, upstream: str) -> BreakerConfig:
        """The breaker config of ``upstream``: its own entry merged over ``default``."""
        return self._resolved.get(upstream, self.default)


class StoreConfig(_Strict):
    """The ``store:`` section: where breaker state is shared (``memory`` is this process only)."""

    url: str = "memory"
    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    """Read the URL from this environment variable at start (a Kubernetes Secret), so no password sits in the policy."""
    prefix: str = Field(default="guardd", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    pubsub: bool = True
    """False: replicas learn of changes only by the periodic reconcile (for measurement and broken networks)."""
    reconcile_interval: float = 1.0
    op_timeout: float = 0.25
    on_store_down: Literal["keep_local", "fail_closed"] = "keep_local"
    """fail_closed: every circuit answers allow_request=false while the store is unreachable."""

    @model_validator(mode="before")
    @classmethod
    def _from_url(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value

    @field_validator("reconcile_interval", "op_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value != "memory" and not value.startswith(_REDIS_SCHEMES):
            raise ValueError("store must be 'memory' or a redis:// URL")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> StoreConfig:
        if self.url_env is not None and "url" in self.model_fields_set:
            raise ValueError("give url or url_env, not both")
        return self

    @property
    def kind(self) -> Literal["memory", "redis"]:
        return "memory" if self.url == "memory" and self.url_env is None else "redis"

    def resolve(self, environ: Mapping[str, str]) -> StoreConfig:
        """This config with ``url`` read from ``url_env``; at start only, so ``guardd check`` needs no secret."""
        if self.url_env is None:
            return self
        value = environ.get(self.url_env, "")
        if not value.startswith(_REDIS_SCHEMES):
            # Never echo the value: it may hold a password.
            problem = "is not set" if not value else "does not hold a redis://, rediss:// or unix:// URL"
            raise PolicyError([Diagnostic("<environment>", 1, 1, f"store.url_env: {self.url_env} {problem}")])
        return self.model_copy(update={"url": value})
