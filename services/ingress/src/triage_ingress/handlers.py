"""Thin faststream subscribers: the message model in, the work delegated."""

from faststream.nats import NatsBroker
from triage_contracts.messages import NotifyRequest
from triage_contracts.streams import Consumers, subscriber_options

from .notifier import Notifier


def register_notifier(broker: NatsBroker, notifier: Notifier, team_scope: str | None) -> None:
    @broker.subscriber(**subscriber_options(Consumers.NOTIFIER, team_scope))  # type: ignore[call-overload, untyped-decorator]
    async def on_notify(req: NotifyRequest) -> None:
        await notifier.handle(req)
