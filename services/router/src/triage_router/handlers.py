"""The router's one subscriber: a ModelCall in, the work delegated to ModelRouter.

A malformed ModelCall never reaches this function: faststream's validation fails and the
contracts' error middleware dead-letters it with the reason."""

from faststream.nats import NatsBroker
from triage_contracts.consume import current_message, subscribe
from triage_contracts.messages import ModelCall
from triage_contracts.streams import Consumers

from .service import ModelRouter


def register(broker: NatsBroker, router: ModelRouter, team_scope: str | None,
             concurrency: int = 1) -> None:
    @subscribe(broker, Consumers.ROUTER, team_scope, concurrency)
    async def on_model_call(call: ModelCall) -> None:
        msg = current_message(broker)
        # The heartbeat keeps JetStream from redelivering while a slow model answers.
        await router.handle(call, msg.in_progress)
