"""Thin faststream subscribers: the message model in, the work delegated."""

from faststream.nats import NatsBroker
from triage_contracts.consume import current_message, subscribe
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.messages import NotifyKind, NotifyRequest
from triage_contracts.streams import Consumers

from .notifier import Notifier


def register_notifier(broker: NatsBroker, notifier: Notifier, team_scope: str | None) -> None:
    @subscribe(broker, Consumers.NOTIFIER, team_scope)
    async def on_notify(req: NotifyRequest) -> None:
        # current_message, not a NatsMessage parameter: no thread hop per message (consume.py)
        check_kind(current_message(broker).raw_message.subject, req)
        await notifier.handle(req)


def check_kind(subject: str, req: NotifyRequest) -> None:
    """The edge may publish statuses only (`work.notify.*.status`, its "Queued behind N
    questions"): what arrives there is shown as a status or refused, never posted as a
    message, so that grant cannot be used to speak in a channel."""
    if subject.endswith(f".{NotifyKind.STATUS.value}") and req.notify_kind is not NotifyKind.STATUS:
        raise PermanentError(f"a {req.notify_kind.value} on a status subject",
                             ErrorCode.POLICY_DENIED)
