"""The one subscriber: tool commands from the WORK stream, delegated to `ToolService`."""

from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from triage_contracts.messages import ToolCall
from triage_contracts.streams import Consumers, subscriber_options

from .service import ToolService


def register(broker: NatsBroker, service: ToolService, team_scope: str | None) -> None:
    spec = Consumers.TOOLS

    @broker.subscriber(**subscriber_options(spec, team_scope))  # type: ignore[call-overload,untyped-decorator]
    async def on_tool_call(call: ToolCall, message: NatsMessage) -> None:
        # On the last delivery a temporary failure is answered as an error: runs never hang.
        await service.handle(call, final_attempt=_delivered(message) >= spec.max_deliver)


def _delivered(message: NatsMessage) -> int:
    metadata = getattr(message.raw_message, "metadata", None)
    return int(metadata.num_delivered) if metadata is not None else 1
