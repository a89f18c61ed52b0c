import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_INPUT: _ClassVar[Stage]
    STAGE_OUTPUT: _ClassVar[Stage]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_ALLOW: _ClassVar[Verdict]
    VERDICT_MODIFY: _ClassVar[Verdict]
    VERDICT_FLAG: _ClassVar[Verdict]
    VERDICT_BLOCK: _ClassVar[Verdict]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_BLOCK: _ClassVar[Action]
    ACTION_MODIFY: _ClassVar[Action]
    ACTION_FLAG: _ClassVar[Action]
    ACTION_FAIL_OPEN: _ClassVar[Action]
    ACTION_FAIL_CLOSED: _ClassVar[Action]

class CircuitState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CIRCUIT_STATE_UNSPECIFIED: _ClassVar[CircuitState]
    CIRCUIT_STATE_CLOSED: _ClassVar[CircuitState]
    CIRCUIT_STATE_OPEN: _ClassVar[CircuitState]
    CIRCUIT_STATE_HALF_OPEN: _ClassVar[CircuitState]
    CIRCUIT_STATE_FORCED_OPEN: _ClassVar[CircuitState]
    CIRCUIT_STATE_DISABLED: _ClassVar[CircuitState]

class Override(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVERRIDE_UNSPECIFIED: _ClassVar[Override]
    OVERRIDE_NONE: _ClassVar[Override]
    OVERRIDE_FORCED_OPEN: _ClassVar[Override]
    OVERRIDE_DISABLED: _ClassVar[Override]
STAGE_UNSPECIFIED: Stage
STAGE_INPUT: Stage
STAGE_OUTPUT: Stage
VERDICT_UNSPECIFIED: Verdict
VERDICT_ALLOW: Verdict
VERDICT_MODIFY: Verdict
VERDICT_FLAG: Verdict
VERDICT_BLOCK: Verdict
ACTION_UNSPECIFIED: Action
ACTION_BLOCK: Action
ACTION_MODIFY: Action
ACTION_FLAG: Action
ACTION_FAIL_OPEN: Action
ACTION_FAIL_CLOSED: Action
CIRCUIT_STATE_UNSPECIFIED: CircuitState
CIRCUIT_STATE_CLOSED: CircuitState
CIRCUIT_STATE_OPEN: CircuitState
CIRCUIT_STATE_HALF_OPEN: CircuitState
CIRCUIT_STATE_FORCED_OPEN: CircuitState
CIRCUIT_STATE_DISABLED: CircuitState
OVERRIDE_UNSPECIFIED: Override
OVERRIDE_NONE: Override
OVERRIDE_FORCED_OPEN: Override
OVERRIDE_DISABLED: Override

class ValidateRequest(_message.Message):
    __slots__ = ("request_id", "policy", "stage", "text", "prompt", "context", "upstream", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    policy: str
    stage: Stage
    text: str
    prompt: str
    context: _containers.RepeatedScalarFieldContainer[str]
    upstream: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[str] = ..., policy: _Optional[str] = ..., stage: _Optional[_Union[Stage, str]] = ..., text: _Optional[str] = ..., prompt: _Optional[str] = ..., context: _Optional[_Iterable[str]] = ..., upstream: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("guardrail", "category", "score", "action", "message", "spans", "error", "latency_ms")
    GUARDRAIL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    guardrail: str
    category: str
    score: float
    action: Action
    message: str
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    error: bool
    latency_ms: float
    def __init__(self, guardrail: _Optional[str] = ..., category: _Optional[str] = ..., score: _Optional[float] = ..., action: _Optional[_Union[Action, str]] = ..., message: _Optional[str] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., error: _Optional[bool] = ..., latency_ms: _Optional[float] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ("request_id", "verdict", "text", "findings", "policy_version", "circuit", "skipped", "latency_ms", "final")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    verdict: Verdict
    text: str
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    policy_version: str
    circuit: Circuit
    skipped: _containers.RepeatedScalarFieldContainer[str]
    latency_ms: float
    final: bool
    def __init__(self, request_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., text: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., policy_version: _Optional[str] = ..., circuit: _Optional[_Union[Circuit, _Mapping]] = ..., skipped: _Optional[_Iterable[str]] = ..., latency_ms: _Optional[float] = ..., final: _Optional[bool] = ...) -> None: ...

class ValidateStreamRequest(_message.Message):
    __slots__ = ("request", "text_chunk")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TEXT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    request: ValidateRequest
    text_chunk: str
    def __init__(self, request: _Optional[_Union[ValidateRequest, _Mapping]] = ..., text_chunk: _Optional[str] = ...) -> None: ...

class ReportOutcomeRequest(_message.Message):
    __slots__ = ("request_id", "upstream", "policy", "status_code", "error_type", "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cost_usd", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    upstream: str
    policy: str
    status_code: int
    error_type: str
    latency_ms: float
    ttft_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    labels: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[str] = ..., upstream: _Optional[str] = ..., policy: _Optional[str] = ..., status_code: _Optional[int] = ..., error_type: _Optional[str] = ..., latency_ms: _Optional[float] = ..., ttft_ms: _Optional[float] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ReportOutcomeResponse(_message.Message):
    __slots__ = ("failure_category", "circuit")
    FAILURE_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    failure_category: str
    circuit: Circuit
    def __init__(self, failure_category: _Optional[str] = ..., circuit: _Optional[_Union[Circuit, _Mapping]] = ...) -> None: ...

class Circuit(_message.Message):
    __slots__ = ("upstream", "state", "allow_request", "generation", "reason", "failure_rates", "changed_at")
    class FailureRatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_REQUEST_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILURE_RATES_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    upstream: str
    state: CircuitState
    allow_request: bool
    generation: int
    reason: str
    failure_rates: _containers.ScalarMap[str, float]
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, upstream: _Optional[str] = ..., state: _Optional[_Union[CircuitState, str]] = ..., allow_request: _Optional[bool] = ..., generation: _Optional[int] = ..., reason: _Optional[str] = ..., failure_rates: _Optional[_Mapping[str, float]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCircuitRequest(_message.Message):
    __slots__ = ("upstream",)
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    upstream: str
    def __init__(self, upstream: _Optional[str] = ...) -> None: ...

class GetCircuitResponse(_message.Message):
    __slots__ = ("circuit",)
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    circuit: Circuit
    def __init__(self, circuit: _Optional[_Union[Circuit, _Mapping]] = ...) -> None: ...

class WatchCircuitsRequest(_message.Message):
    __slots__ = ("upstreams",)
    UPSTREAMS_FIELD_NUMBER: _ClassVar[int]
    upstreams: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, upstreams: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchCircuitsResponse(_message.Message):
    __slots__ = ("circuit",)
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    circuit: Circuit
    def __init__(self, circuit: _Optional[_Union[Circuit, _Mapping]] = ...) -> None: ...

class SetCircuitOverrideRequest(_message.Message):
    __slots__ = ("upstream", "override", "reason")
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    upstream: str
    override: Override
    reason: str
    def __init__(self, upstream: _Optional[str] = ..., override: _Optional[_Union[Override, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class SetCircuitOverrideResponse(_message.Message):
    __slots__ = ("circuit",)
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    circuit: Circuit
    def __init__(self, circuit: _Optional[_Union[Circuit, _Mapping]] = ...) -> None: ...

class GetSLOStatusRequest(_message.Message):
    __slots__ = ("name", "upstream")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    name: str
    upstream: str
    def __init__(self, name: _Optional[str] = ..., upstream: _Optional[str] = ...) -> None: ...

class SLOStatus(_message.Message):
    __slots__ = ("name", "upstream", "policy", "objective", "sli", "burn_rates", "error_budget_remaining", "breached")
    class SliEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class BurnRatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    SLI_FIELD_NUMBER: _ClassVar[int]
    BURN_RATES_FIELD_NUMBER: _ClassVar[int]
    ERROR_BUDGET_REMAINING_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    name: str
    upstream: str
    policy: str
    objective: float
    sli: _containers.ScalarMap[str, float]
    burn_rates: _containers.ScalarMap[str, float]
    error_budget_remaining: float
    breached: bool
    def __init__(self, name: _Optional[str] = ..., upstream: _Optional[str] = ..., policy: _Optional[str] = ..., objective: _Optional[float] = ..., sli: _Optional[_Mapping[str, float]] = ..., burn_rates: _Optional[_Mapping[str, float]] = ..., error_budget_remaining: _Optional[float] = ..., breached: _Optional[bool] = ...) -> None: ...

class GetSLOStatusResponse(_message.Message):
    __slots__ = ("slos",)
    SLOS_FIELD_NUMBER: _ClassVar[int]
    slos: _containers.RepeatedCompositeFieldContainer[SLOStatus]
    def __init__(self, slos: _Optional[_Iterable[_Union[SLOStatus, _Mapping]]] = ...) -> None: ...
