"""Thin consumers: an ApprovalRequest in, the work done by `Approvals.record_request`."""

from faststream.nats import NatsBroker
from triage_contracts.consume import subscribe
from triage_contracts.messages import ApprovalRequest
from triage_contracts.streams import Consumers

from .decisions import Approvals
from .settings import Settings


def register(broker: NatsBroker, settings: Settings, approvals: Approvals) -> None:
    @subscribe(broker, Consumers.APPROVAL_REQUESTS, settings.team_scope,
               settings.consumer_concurrency)
    async def on_approval_request(req: ApprovalRequest) -> None:
        await approvals.record_request(req)
