"""``ReportOutcome`` and ``GetSLOStatus``: the SLO half of the Guard service."""

from __future__ import annotations

from guardd.api.handlers import Context, ErrorMapper, MethodHandler
from guardd.api.ports import Subsystems
from guardd.policy.holder import SnapshotHolder, plan_for
from guardd.slo.report import outcome_from
from guardd.slo.tracker import SLOTracker
from guardd.v1 import guard_pb2 as pb


class SLOService:
    """Records upstream outcomes (published to every event sink) and reports SLO status."""

    def __init__(self, holder: SnapshotHolder, tracker: SLOTracker, links: Subsystems) -> None:
        self._holder = holder
        self._tracker = tracker
        self._links = links

    def handlers(self, errors: ErrorMapper) -> dict[str, MethodHandler]:
        """The RPCs this service serves."""
        return {
            "ReportOutcome": errors.unary_method(
                self.report_outcome, pb.ReportOutcomeRequest, pb.ReportOutcomeResponse
            ),
            "GetSLOStatus": errors.unary_method(self.get_slo_status, pb.GetSLOStatusRequest, pb.GetSLOStatusResponse),
        }

    async def report_outcome(self, request: pb.ReportOutcomeRequest, _context: Context) -> pb.ReportOutcomeResponse:
        policy = plan_for(self._holder.current, request.policy).policy.name
        outcome = outcome_from(request, policy)
        self._links.events.on_outcome(outcome)
        response = pb.ReportOutcomeResponse(failure_category=outcome.category)
        circuit = self._links.circuits.circuit(outcome.upstream) if self._links.circuits else None
        if circuit is not None:
            response.circuit.CopyFrom(circuit)
        return response

    async def get_slo_status(self, request: pb.GetSLOStatusRequest, _context: Context) -> pb.GetSLOStatusResponse:
        return pb.GetSLOStatusResponse(slos=self._tracker.status(request.name, request.upstream))
