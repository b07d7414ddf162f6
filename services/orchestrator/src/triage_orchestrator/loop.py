"""The investigate step: a bounded tool-calling loop, as engine transitions (no `while`
around network calls: each turn is a ModelCall command, each requested call a ToolCall
command, and the answers come back as inputs to the pure engine).

turn 0   the skill's prefetch calls, if any, sent at once
turn n   ModelCall(messages, tools offered) -> the model answers, or asks for calls:
         each call is checked (calls.py); valid reads go to the tools service with the
         deterministic id `<run>:<step>-t<n>-c<i>:cmd`; invalid ones and writes (queued for
         approval) are answered at once; when every call answered, the tool messages go
         back in the order the model asked, and turn n+1 starts
stop     the model answers; or a limit makes the next turn the last (tools listed but not
         callable, `tool_choice=none`, told what it could not check); or a hard limit
         (tokens, dollars, repeated invalid calls, a failed model) ends the loop with an
         answer composed from the evidence, saying why.
"""

import json
from datetime import timedelta

from triage_contracts.messages import (
    ChatMessage,
    ModelCall,
    ModelResult,
    ProposedAction,
    RequestedToolCall,
    ToolCall,
    ToolResult,
    ToolStatus,
)
from triage_contracts.tools import TOOLS, WRITE_TOOLS

from . import calls, conversation, render
from .classify import render as fill
from .commands import PublishModelCall, PublishToolCall, cmd_id
from .context import Ctx
from .evidence import from_result, merge
from .progress import show_progress
from .spec import Step
from .state import CallStatus, Investigation, LoopCall, RunState

FINAL_TOKEN_SHARE = 0.8  # past this share of max_tokens, the next turn is the last
MAX_ANSWER_TOKENS = 1_200
PAGE_TOOL = "output.page"


def offered_tools(state: RunState) -> list[str]:
    """The skill's read and write tools that the workspace allows (paging comes with any
    read, since any read output may be cut)."""
    assert state.skill is not None
    wanted = state.skill.read_tools() + list(state.skill.write_tools)
    if wanted and PAGE_TOOL not in wanted and PAGE_TOOL in TOOLS:
        wanted.append(PAGE_TOOL)
    allowed = state.config.allowed_tools
    return [t for t in dict.fromkeys(wanted) if allowed is None or t in allowed]


def enter_investigate(state: RunState, step: Step, ctx: Ctx) -> bool:
    offered = offered_tools(state)
    budgets = state.workflow.budgets
    state.investigation = Investigation(
        started_at=ctx.now, offered=offered,
        messages=conversation.opening(state, offered, budgets, ctx.now))
    if _prefetch(state, step, ctx):
        return True
    _ask(state, step, ctx)
    return bool(state.waiting_on(step.id))


def _prefetch(state: RunState, step: Step, ctx: Ctx) -> bool:
    assert state.skill is not None and state.investigation is not None
    values = {"repo": state.repo, "service": state.service, "question": state.request.text}
    for index, planned in enumerate(state.skill.prefetch):
        try:
            args = fill(planned.args, values)
        except KeyError as missing:
            state.notes.append(f"{planned.tool} not prefetched: no {missing.args[0]} is known")
            continue
        requested = RequestedToolCall(id=f"prefetch-{index}", name=planned.tool,
                                      arguments=json.dumps(args, sort_keys=True))
        _take(state, step, requested, 0, index, ctx)
    return bool(state.waiting_on(step.id))


def on_tool_result(state: RunState, step: Step, result: ToolResult, ctx: Ctx) -> None:
    inv = state.investigation
    call = inv.call(result.step_id) if inv else None
    if inv is None or call is None or call.status != "pending":
        return
    ok = result.status in (ToolStatus.SUCCESS, ToolStatus.NO_DATA)
    call.status = "done" if ok else "error"
    call.content = conversation.tool_message(call, result)
    if not ok:
        call.note = f"{call.tool} failed: {result.error or result.status.value}"
    found, notes = from_result(result, call.arguments)
    state.evidence = merge(state.evidence, found)
    state.notes.extend(notes)
    if not any(c.status == "pending" for c in inv.turn_calls()):
        _close_turn(state, step, ctx)


def on_model_result(state: RunState, step: Step, result: ModelResult, ctx: Ctx) -> None:
    inv = state.investigation
    assert inv is not None
    inv.tokens += result.usage.prompt_tokens + result.usage.completion_tokens
    state.cost_usd += result.usage.cost_usd
    inv.provider, inv.model = result.provider or inv.provider, result.model or inv.model
    if not result.ok:
        _stop(state, _failure(result))
        return
    inv.messages.append(ChatMessage(role="assistant", content=result.content,
                                    tool_calls=list(result.tool_calls)))
    if result.tool_calls and not inv.final:
        for index, requested in enumerate(result.tool_calls):
            _take(state, step, requested, inv.turn, index, ctx)
        turn = inv.turn_calls()
        show_progress(state, step, [c.tool for c in turn if c.status == "pending"], ctx)
        valid = any(c.status in ("pending", "done", "queued_write") for c in turn)
        inv.invalid_turns = 0 if valid else inv.invalid_turns + 1
        if not any(c.status == "pending" for c in turn):
            _close_turn(state, step, ctx)
        return
    state.draft = result.content.strip()
    state.model_ok = True
    if not state.draft:
        _stop(state, "the model gave no answer" + (" after the limit" if inv.final else ""))


def _failure(result: ModelResult) -> str:
    if result.error_code == "run_budget":
        return "the run's dollar limit leaves no room for another model call"
    if result.error_code == "team_budget":
        return "the workspace's daily model budget is spent"
    return f"the model call failed ({result.error or 'no reason given'})"


def _take(state: RunState, step: Step, requested: RequestedToolCall, turn: int, index: int,
          ctx: Ctx) -> None:
    """Check one requested call and start it, queue it (a write), or answer it at once."""
    inv = state.investigation
    assert inv is not None
    step_id = f"{step.id}-t{turn}-c{index}"
    call = LoopCall(call_id=requested.id, step_id=step_id, turn=turn, tool=requested.name,
                    raw_arguments=requested.arguments)
    inv.calls.append(call)
    verdict = calls.check(requested, inv.offered, state.config.repos)
    if isinstance(verdict, calls.Refused):
        _answer(call, "invalid", verdict.error)
        return
    call.arguments = verdict.arguments
    if verdict.write:
        _queue_write(state, call)
        return
    budget = state.workflow.budgets.max_tool_calls
    if state.counters.tool_calls >= budget:
        _answer(call, "not_run", f"not run: this run's limit of {budget} tool calls is reached")
        return
    state.counters.tool_calls += 1
    message = ToolCall(team_id=state.team_id, run_id=state.run_id, step_id=step_id,
                       tool=call.tool, arguments=call.arguments)
    ctx.send(state, step.id, step_id, PublishToolCall(message=message,
                                                      msg_id=cmd_id(state.run_id, step_id)))


def _answer(call: LoopCall, status: CallStatus, error: str) -> None:
    call.status = status
    call.content = conversation.tool_message(call, error=error)
    call.note = f"{call.tool}: {error}"


def _queue_write(state: RunState, call: LoopCall) -> None:
    if state.proposed_actions:
        _answer(call, "invalid", "only one write per run: this one was not queued")
        return
    summary = render.action_summary(call.tool, call.arguments)
    state.proposed_actions.append(ProposedAction(tool=call.tool, arguments=call.arguments,
                                                 summary=summary))
    call.status = "queued_write"
    call.content = conversation.queued_message(call)


def _close_turn(state: RunState, step: Step, ctx: Ctx) -> None:
    """Every call of the turn answered: tool messages in the model's order, then ask again."""
    inv = state.investigation
    assert inv is not None
    turn = inv.turn_calls()
    if inv.turn == 0 and turn:  # prefetch: as if the model had asked for these calls
        inv.messages.append(ChatMessage(role="assistant", tool_calls=[
            RequestedToolCall(id=c.call_id, name=c.tool, arguments=c.raw_arguments)
            for c in turn]))
    for call in turn:
        inv.messages.append(ChatMessage(role="tool", tool_call_id=call.call_id,
                                        content=call.content))
        call.content = ""  # now part of the conversation: not kept twice
    _ask(state, step, ctx)


def _ask(state: RunState, step: Step, ctx: Ctx) -> None:
    """The next model turn, the last one when a limit says so, or the end of the loop."""
    inv = state.investigation
    assert inv is not None and step.route is not None
    stop = hard_limit(state)
    if stop:
        _stop(state, stop)
        return
    inv.turn += 1
    limit = soft_limit(state, ctx)
    if limit and not inv.final:
        inv.final = True
        state.notes.append(f"Investigation cut short: {limit}.")
        inv.messages.append(conversation.final_note(limit, unchecked(inv)))
    state.counters.model_calls += 1
    step_id = f"{step.id}-t{inv.turn}"
    budgets = state.workflow.budgets
    message = ModelCall(
        team_id=state.team_id, run_id=state.run_id, step_id=step_id, route=step.route,
        messages=list(inv.messages), tools=[TOOLS[name].spec() for name in inv.offered],
        tool_choice="none" if inv.final else "auto", max_tokens=MAX_ANSWER_TOKENS,
        max_cost_usd=round(max(budgets.max_usd - state.cost_usd, 0.0), 6))
    ctx.send(state, step.id, step_id, PublishModelCall(message=message,
                                                      msg_id=cmd_id(state.run_id, step_id)))


def hard_limit(state: RunState) -> str | None:
    """A limit that allows no further model call."""
    inv, budgets = state.investigation, state.workflow.budgets
    assert inv is not None
    if inv.tokens >= budgets.max_tokens:
        return f"the run's limit of {budgets.max_tokens} model tokens is reached"
    if state.cost_usd >= budgets.max_usd:
        return f"the run's limit of ${budgets.max_usd:.2f} model spend is reached"
    if inv.invalid_turns >= budgets.max_invalid_turns:
        return (f"the model made only invalid tool calls {inv.invalid_turns} turns in a row "
                "(see the notes)")
    return None


def soft_limit(state: RunState, ctx: Ctx) -> str | None:
    """A limit that makes this turn the last one (the model answers without tools)."""
    inv, budgets = state.investigation, state.workflow.budgets
    assert inv is not None
    if inv.turn >= budgets.max_turns:
        return f"the limit of {budgets.max_turns} model turns is reached"
    if state.counters.tool_calls >= budgets.max_tool_calls:
        return f"the limit of {budgets.max_tool_calls} tool calls is reached"
    if inv.tokens >= FINAL_TOKEN_SHARE * budgets.max_tokens:
        return f"most of the {budgets.max_tokens} model tokens are used"
    if ctx.now - inv.started_at >= timedelta(seconds=budgets.investigate_timeout_s):
        return f"the {budgets.investigate_timeout_s:.0f} s allowed to investigate are over"
    return None


def unchecked(inv: Investigation) -> list[str]:
    return [call.note for call in inv.calls if call.note]


def _stop(state: RunState, reason: str) -> None:
    """End the loop without (another) model answer: compose one from the evidence."""
    inv = state.investigation
    assert inv is not None
    inv.stopped = reason
    if not state.draft:
        state.draft = render.partial_answer(state, reason)


def writes_offered(state: RunState) -> list[str]:
    inv = state.investigation
    return [t for t in (inv.offered if inv else []) if t in WRITE_TOOLS]
