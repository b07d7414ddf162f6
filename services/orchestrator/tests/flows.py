"""Driving a run through the pure engine in tests: classify, model turns, tool answers."""

from typing import Any

from triage_contracts.messages import ProposedAction, RequestedToolCall, ToolStatus
from triage_orchestrator import engine
from triage_orchestrator.state import RunState

from .factories import (
    NOW,
    REPO,
    call,
    config,
    model_result,
    request,
    skills,
    tool_result,
    waiting_tools,
    workflow,
)


def of(effects: list[Any], kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def classified(text: str = "why is checkout-api failing?", skill: str = "incident",
               spec: Any = None, **kw: object) -> tuple[RunState, list[Any]]:
    state, _ = engine.start(request(text), spec or workflow(), skills(), config(**kw), now=NOW)
    return engine.on_result(state, model_result(state, content=skill), now=NOW)


def answer_tools(state: RunState, status: ToolStatus = ToolStatus.SUCCESS,
                 reverse: bool = True, now: Any = NOW) -> tuple[RunState, list[Any]]:
    effects: list[Any] = []
    for command in sorted(waiting_tools(state), key=lambda c: c.message.step_id,
                          reverse=reverse):  # out of order on purpose
        message = command.message
        result = tool_result(state.run_id, message.step_id, message.tool, status=status,
                             error="boom" if status is ToolStatus.ERROR else None)
        state, effects = engine.on_result(state, result, now=now)
    return state, effects


READS = [call("github.workflow_runs", {"repo": REPO}, "c-runs"),
         call("github.recent_commits", {"repo": REPO}, "c-commits")]
ANSWER = "*Triage:* CI #57 fails since `abc1234` (https://gh.test/runs/9)."


def investigated(writes: list[ProposedAction] | None = None, answer: str = ANSWER,
                 reads: list[RequestedToolCall] | None = None) -> tuple[RunState, list[Any]]:
    """Classified, one turn of reads (and the given writes), then the answer."""
    state, _ = classified()
    asked = list(READS if reads is None else reads)
    asked += [call(w.tool, w.arguments, f"w{i}") for i, w in enumerate(writes or [])]
    state, _ = engine.on_result(state, model_result(state, calls=asked), now=NOW)
    state, _ = answer_tools(state)
    return engine.on_result(state, model_result(state, content=answer), now=NOW)
