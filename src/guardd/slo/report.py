"""``ReportOutcomeRequest`` → a validated, classified ``UpstreamOutcome``, or INVALID_ARGUMENT saying what to fix."""

from __future__ import annotations

import math
from collections.abc import Mapping

from guardd.errors import InvalidArgument
from guardd.events import KNOWN_ERROR_TYPES, UpstreamOutcome, classify_outcome
from guardd.v1 import guard_pb2 as pb

MAX_ID_CHARS = 256
MAX_UPSTREAM_CHARS = 256
MAX_ERROR_TYPE_CHARS = 64
MAX_LABELS = 32
MAX_LABEL_CHARS = 256
MAX_LATENCY_MS = 24 * 3600 * 1000.0
"""A day: anything longer is a unit mistake (seconds or microseconds sent as ms)."""


def outcome_from(request: pb.ReportOutcomeRequest, policy: str) -> UpstreamOutcome:
    """Validate ``request`` and classify it; ``policy`` is the resolved policy name."""
    _check_names(request)
    _check_status(request.status_code, request.error_type)
    _check_amounts(request)
    _check_labels(request.labels)
    return UpstreamOutcome(
        request_id=request.request_id,
        upstream=request.upstream,
        policy=policy,
        category=classify_outcome(request.status_code, request.error_type),
        latency_ms=request.latency_ms,
        ttft_ms=request.ttft_ms,
        input_tokens=request.input_tokens,
        output_tokens=request.output_tokens,
        cost_usd=request.cost_usd,
    )


def _check_names(request: pb.ReportOutcomeRequest) -> None:
    if not request.upstream.strip():
        raise InvalidArgument("upstream is required: name the model or provider the call went to, e.g. 'openai/gpt-4o'")
    if len(request.upstream) > MAX_UPSTREAM_CHARS:
        raise InvalidArgument(f"upstream is {len(request.upstream)} characters; at most {MAX_UPSTREAM_CHARS}")
    if len(request.request_id) > MAX_ID_CHARS:
        raise InvalidArgument(f"request_id is {len(request.request_id)} characters; at most {MAX_ID_CHARS}")


def _check_status(status: int, error_type: str) -> None:
    if status != 0 and not 100 <= status <= 599:  # noqa: PLR2004 - the HTTP status range
        raise InvalidArgument(
            f"status_code {status} is not an HTTP status: send the provider's status (100-599), or 0 when there was none"
        )
    if error_type and error_type.strip().lower() not in KNOWN_ERROR_TYPES:
        shown = error_type[:MAX_ERROR_TYPE_CHARS]
        known = ", ".join(sorted(KNOWN_ERROR_TYPES))
        raise InvalidArgument(f"unknown error_type '{shown}'; leave it empty or use one of: {known}")


def _check_amounts(request: pb.ReportOutcomeRequest) -> None:
    for field in ("latency_ms", "ttft_ms"):
        value = getattr(request, field)
        if not math.isfinite(value) or value < 0 or value > MAX_LATENCY_MS:
            raise InvalidArgument(f"{field} is {value}; it must be a finite number of milliseconds in [0, 86400000]")
    if request.latency_ms and request.ttft_ms > request.latency_ms:
        raise InvalidArgument(
            f"ttft_ms ({request.ttft_ms}) is greater than latency_ms ({request.latency_ms}): the first token cannot come after the last"
        )
    for field in ("input_tokens", "output_tokens"):
        if getattr(request, field) < 0:
            raise InvalidArgument(f"{field} is {getattr(request, field)}; token counts cannot be negative")
    if not math.isfinite(request.cost_usd) or request.cost_usd < 0:
        raise InvalidArgument(f"cost_usd is {request.cost_usd}; it must be a finite, non-negative amount")


def _check_labels(labels: Mapping[str, str]) -> None:
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(
            f"labels has {len(labels)} entries; at most {MAX_LABELS} are accepted (they are not used as metric labels)"
        )
    for key, value in labels.items():
        if len(key) > MAX_LABEL_CHARS or len(value) > MAX_LABEL_CHARS:
            raise InvalidArgument(f"label '{key[:64]}': keys and values are limited to {MAX_LABEL_CHARS} characters")
