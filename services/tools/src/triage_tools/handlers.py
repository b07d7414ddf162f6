"""The one subscriber: tool commands from the WORK stream, delegated to `ToolService`."""

from faststream.nats import NatsBroker
from triage_contracts.consume import current_message, delivered, subscribe
from triage_contracts.messages import ToolCall
from triage_contracts.streams import Consumers

from .service import ToolService


def register(broker: NatsBroker, service: ToolService, team_scope: str | None,
             concurrency: int = 1) -> None:
    spec = Consumers.TOOLS

    @subscribe(broker, spec, team_scope, concurrency)
    async def on_tool_call(call: ToolCall) -> None:
        message = current_message(broker)
        # On the last delivery a temporary failure is answered as an error: runs never hang.
        await service.handle(call, final_attempt=delivered(message) >= spec.max_deliver)
