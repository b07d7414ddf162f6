"""Thin faststream subscribers: the message model in, the work delegated."""

from faststream.nats import NatsBroker
from triage_contracts.consume import subscribe
from triage_contracts.messages import NotifyRequest
from triage_contracts.streams import Consumers

from .notifier import Notifier


def register_notifier(broker: NatsBroker, notifier: Notifier, team_scope: str | None) -> None:
    @subscribe(broker, Consumers.NOTIFIER, team_scope)
    async def on_notify(req: NotifyRequest) -> None:
        await notifier.handle(req)
