"""Thin consumers: an ApprovalRequest in, the work done by `Approvals.record_request`."""

from faststream.nats import NatsBroker
from triage_contracts.messages import ApprovalRequest
from triage_contracts.streams import Consumers, subscriber_options

from .decisions import Approvals
from .settings import Settings


def register(broker: NatsBroker, settings: Settings, approvals: Approvals) -> None:
    options = subscriber_options(Consumers.APPROVAL_REQUESTS, settings.team_scope)

    @broker.subscriber(**options)  # type: ignore[untyped-decorator]
    async def on_approval_request(req: ApprovalRequest) -> None:
        await approvals.record_request(req)
