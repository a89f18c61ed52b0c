"""GetCircuit, WatchCircuits and SetCircuitOverride."""

from __future__ import annotations

from collections.abc import AsyncIterator

from guardd.api.handlers import Context, ErrorMapper, MethodHandler
from guardd.circuit.engine import Breakers
from guardd.circuit.tracked import Tracked
from guardd.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from guardd.security.admin import AdminCheck
from guardd.v1 import guard_pb2 as pb

_OVERRIDES = {
    pb.OVERRIDE_NONE: "none",
    pb.OVERRIDE_FORCED_OPEN: "forced_open",
    pb.OVERRIDE_DISABLED: "disabled",
}


class CircuitService:
    """The circuit RPCs, over the engine's local view (none of them waits on the store except overrides)."""

    def __init__(self, breakers: Breakers, admin: AdminCheck | None = None) -> None:
        self._breakers = breakers
        self._admin = admin
        """Who may set overrides; None lets every caller that reaches the port."""

    def handlers(self, errors: ErrorMapper) -> dict[str, MethodHandler]:
        """The RPCs this service serves."""
        return {
            "GetCircuit": errors.unary_method(self.get_circuit, pb.GetCircuitRequest, pb.GetCircuitResponse),
            "SetCircuitOverride": errors.unary_method(
                self.set_override, pb.SetCircuitOverrideRequest, pb.SetCircuitOverrideResponse
            ),
            "WatchCircuits": errors.server_stream_method(self.watch, pb.WatchCircuitsRequest, pb.WatchCircuitsResponse),
        }

    def _tracked(self, upstream: str) -> Tracked:
        if not upstream:
            raise InvalidArgument("'upstream' is required, e.g. openai/gpt-4o")
        tracked = self._breakers.track(upstream)
        if tracked is None:
            raise NotFound(
                f"no breaker for '{upstream}': breakers are disabled (circuits.enabled), the name is over "
                "256 characters, or guardd already tracks circuits.max_upstreams upstreams"
            )
        return tracked

    async def get_circuit(self, request: pb.GetCircuitRequest, _context: Context) -> pb.GetCircuitResponse:
        self._tracked(request.upstream)
        circuit = self._breakers.circuit(request.upstream)
        return pb.GetCircuitResponse(circuit=circuit)

    async def set_override(
        self, request: pb.SetCircuitOverrideRequest, context: Context
    ) -> pb.SetCircuitOverrideResponse:
        if self._admin is not None:
            self._admin.check(context)
        override = _OVERRIDES.get(request.override)
        if override is None:
            raise InvalidArgument("'override' must be OVERRIDE_NONE, OVERRIDE_FORCED_OPEN or OVERRIDE_DISABLED")
        tracked = self._tracked(request.upstream)
        if tracked.config.override != "none":
            raise FailedPrecondition(
                f"'{request.upstream}' is set to {tracked.config.override} by the policy "
                f"(circuits.upstreams.{request.upstream}.override); change the policy instead"
            )
        circuit = await self._breakers.set_override(tracked, override, request.reason)
        return pb.SetCircuitOverrideResponse(circuit=circuit)

    async def watch(
        self, request: pb.WatchCircuitsRequest, _context: Context
    ) -> AsyncIterator[pb.WatchCircuitsResponse]:
        """The current circuits first, then every change, until the caller cancels."""
        watch, snapshot = self._breakers.watch(frozenset(request.upstreams))
        try:
            for circuit in snapshot:
                yield pb.WatchCircuitsResponse(circuit=circuit)
            while True:
                circuit = await watch.queue.get()
                if watch.overflowed:
                    raise ResourceExhausted("this watcher fell over 1024 changes behind; call WatchCircuits again")
                yield pb.WatchCircuitsResponse(circuit=circuit)
        finally:
            self._breakers.watchers.remove(watch)
