"""The one subscriber: AuditEvent in, appended to its team's chain, acked.

Failures follow the contracts' mapping: a database outage is a TemporaryError (nak with
backoff; the AUDIT stream keeps the event), an event claiming another team or service than
its subject says is a PermanentError (dead-lettered, never chained), and an event that fails
for any other reason is dead-lettered after a bounded number of deliveries
(retry_policy.py). Each append tells anchoring, which checkpoints every N events.

Up to CONSUMER_CONCURRENCY events are handled at once; their appends are grouped into one
transaction each (groups.py) and every message is acked only after its group's commit.
"""

import structlog
from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.consume import current_message, delivered, subscribe
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditEvent
from triage_contracts.streams import Consumers

from .anchoring import Anchoring
from .groups import GroupWriter
from .retry_policy import after_failure

log = get_logger("triage.audit")


def check_origin(event: AuditEvent, subject: str) -> None:
    """The subject is what NATS permissions control (a service may publish only on
    `triage.audit.*.<itself>`); the body must not claim another team or service."""
    parts = subject.split(".")
    team, service = subjects.team_of(subject), parts[-1]
    if (team, service) != (event.team_id, event.service):
        raise PermanentError(
            f"audit event {event.message_id} claims team={event.team_id} "
            f"service={event.service} but arrived on {subject}", ErrorCode.POLICY_DENIED)


def register(broker: NatsBroker, writer: GroupWriter, anchoring: Anchoring | None,
             team_scope: str | None, poison_limit: int) -> None:
    @subscribe(broker, Consumers.AUDIT, team_scope, writer.max_group)
    async def on_audit_event(event: AuditEvent) -> None:
        message = current_message(broker)
        try:
            await record(event, message.raw_message.subject, writer, anchoring)
        except Exception as exc:
            instead = after_failure(exc, delivered(message), poison_limit)
            if instead is exc:
                raise
            raise instead from exc


async def record(event: AuditEvent, subject: str, writer: GroupWriter,
                 anchoring: Anchoring | None) -> None:
    check_origin(event, subject)
    with structlog.contextvars.bound_contextvars(run_id=event.run_id, team_id=event.team_id):
        appended = await writer.append(event)
        log.debug("audit event recorded", seq=appended.seq, duplicate=appended.duplicate,
                  service=event.service, audit_kind=str(event.audit_kind))
    if anchoring is not None and not appended.duplicate:
        anchoring.note(appended.team_id, appended.seq)

