"""Thin subscribers: the message model in, the work delegated to the Orchestrator.
Errors are raised, never swallowed: the contracts' middleware maps them to acks."""

from faststream.exceptions import NackMessage
from faststream.nats import NatsBroker
from triage_contracts.consume import subscribe
from triage_contracts.messages import ApprovalDecision, RunResult, TriageRequest
from triage_contracts.streams import Consumers

from .fair_share import OverShare
from .runner import Orchestrator


def register(broker: NatsBroker, orchestrator: Orchestrator, team_scope: str | None,
             concurrency: int = 1) -> None:
    @subscribe(broker, Consumers.ORCHESTRATOR_EVENTS, team_scope, concurrency)
    async def on_request(request: TriageRequest) -> None:
        try:
            await orchestrator.handle_request(request)
        except OverShare as exc:  # its team's turn comes again; the requests behind go on
            raise NackMessage(delay=exc.delay) from exc

    @subscribe(broker, Consumers.ORCHESTRATOR_RESULTS, team_scope, concurrency)
    async def on_result(result: RunResult) -> None:
        await orchestrator.handle_result(result)

    @subscribe(broker, Consumers.ORCHESTRATOR_DECISIONS, team_scope, concurrency)
    async def on_decision(decision: ApprovalDecision) -> None:
        await orchestrator.handle_decision(decision)
