"""One exception hierarchy for guardd.

Each error carries the canonical gRPC status code it maps to; the API layer
turns them into statuses in one place (``guardd.api.handlers``). Detections
are results, not exceptions: only failures are raised.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


class GuarddError(Exception):
    """Base of every error guardd raises on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidArgument(GuarddError):
    """The request is malformed: a bad stage, an undecodable frame."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(GuarddError):
    """The request names something guardd does not know, e.g. a policy."""

    code = grpc.StatusCode.NOT_FOUND


class ResourceExhausted(GuarddError):
    """The request is over a limit, e.g. the maximum text size."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(GuarddError):
    """The request conflicts with the state guardd is in, e.g. an override the policy pins."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(GuarddError):
    """guardd cannot serve yet (warming up) or any more (draining)."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(GuarddError):
    """The caller's deadline ran out before a verdict was reached."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class GuardrailFailure(GuarddError):
    """A guardrail could not reach a judgement (timeout, model error, worker died).

    The pipeline catches it and applies the guardrail's ``on_error`` mode.
    """


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a policy file, located for the SRE who must fix it."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class PolicyError(GuarddError):
    """A policy failed to load; carries every problem found, not only the first."""

    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))
