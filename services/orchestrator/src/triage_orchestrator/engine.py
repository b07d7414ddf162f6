"""The decision half of the orchestrator: a pure state machine, no I/O.

`start`, `on_result`, `on_decision` and `on_timeout` take a state (never mutated) and an
input, and return the next state plus the effects to perform. An input the run does not
expect (unknown or already answered step, wrong run, late decision) returns the SAME
state object and no publish commands: callers detect "ignored" by identity, which is
what makes redelivery harmless. `pending_commands` re-derives what a run still waits on.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from triage_contracts.ids import utcnow
from triage_contracts.messages import (
    ApprovalDecision,
    AuditKind,
    ModelResult,
    NotifyResult,
    RequestKind,
    ToolResult,
    TriageRequest,
)

from . import loop, progress, read_steps, render, reply_step, write_steps
from .commands import (
    Command,
    Effect,
    EmitAudit,
    PublishModelCall,
    PublishNotify,
    PublishToolCall,
    ThreadContext,
)
from .context import Ctx
from .policy import check_channel
from .skills import Skill
from .spec import Step, StepKind, WorkflowSpec
from .state import Finding, RunConfig, RunState, RunStatus

Result = ToolResult | ModelResult | NotifyResult
Outcome = tuple[RunState, list[Effect]]

ENTER: dict[StepKind, Callable[[RunState, Step, Ctx], bool]] = {
    StepKind.CLASSIFY: read_steps.enter_classify,
    StepKind.INVESTIGATE: loop.enter_investigate,
    StepKind.POLICY: read_steps.enter_policy,
    StepKind.APPROVAL: write_steps.enter_approval,
    StepKind.ACT: write_steps.enter_act,
    StepKind.REPLY: reply_step.enter_reply,
}
ON_RESULT: dict[tuple[StepKind, type], Callable[[RunState, Step, Any, Ctx], None]] = {
    (StepKind.CLASSIFY, ModelResult): read_steps.on_classify_result,
    (StepKind.INVESTIGATE, ToolResult): loop.on_tool_result,
    (StepKind.INVESTIGATE, ModelResult): loop.on_model_result,
    (StepKind.APPROVAL, NotifyResult): write_steps.on_prompt_result,
    (StepKind.ACT, ToolResult): write_steps.on_act_result,
    (StepKind.REPLY, NotifyResult): reply_step.on_reply_result,
}
ANSWERS: dict[type, type] = {
    PublishToolCall: ToolResult, PublishModelCall: ModelResult, PublishNotify: NotifyResult,
}
REFUSAL = ("Sorry, I only answer triage questions in the channels this workspace enabled "
           "for me. Please ask in one of those channels.")
FOLLOW_UP_LIMIT = ("This thread reached its limit of {limit} follow-up questions: please ask "
                   "in a new thread (mention me in the channel).")
APPROVAL_GRACE = timedelta(seconds=60)


def admits(request: TriageRequest, thread: ThreadContext | None) -> bool:
    """A reply in a thread (no mention) is a follow-up only where the bot answered before;
    anything else addressed to the bot starts a run."""
    return request.request_kind is not RequestKind.THREAD_REPLY or thread is not None


def start(
    request: TriageRequest, spec: WorkflowSpec, skills: list[Skill], config: RunConfig,
    now: datetime | None = None, thread: ThreadContext | None = None,
) -> Outcome:
    ctx = Ctx(now=now or utcnow(), skills=list(skills))
    state = RunState(
        team_id=request.team_id, run_id=request.run_id, request=request, workflow=spec,
        config=config, started_at=ctx.now, updated_at=ctx.now, thread=thread,
        deadline_at=ctx.now + timedelta(seconds=spec.budgets.run_timeout_s),
    )
    ctx.audit(state, AuditKind.REQUEST, "run started", "request", actor=request.user_id,
              detail={"request_kind": request.request_kind.value, "channel": request.channel_id,
                      "event_id": request.event_id, "workflow": spec.name,
                      "follow_up_of": thread.run_id if thread else None})
    refusal = check_channel(request.channel_id, config.allowed_channels)
    if refusal is not None:
        read_steps.add_finding(state, ctx, refusal)
        _answer_at_once(state, REFUSAL)
    elif thread is not None and thread.follow_ups >= spec.budgets.max_follow_ups:
        read_steps.add_finding(state, ctx, Finding(
            code="follow_up_limit", severity="info",
            message=f"follow-up {thread.follow_ups + 1} refused in this thread"))
        _answer_at_once(state, FOLLOW_UP_LIMIT.format(limit=spec.budgets.max_follow_ups))
    else:
        progress.show_started(state, ctx)
    _advance(state, ctx)
    return state, ctx.out


def _answer_at_once(state: RunState, text: str) -> None:
    state.refused, state.draft = True, text
    state.step_index = state.workflow.index_of(StepKind.REPLY)


def on_result(state: RunState, result: Result, now: datetime | None = None) -> Outcome:
    entry = state.pending.get(result.step_id)
    expected = ANSWERS.get(type(entry.command)) if entry else None
    if state.terminal or entry is None or not isinstance(result, expected or ()):
        return state, []
    command = entry.command
    if isinstance(command, PublishToolCall) and isinstance(result, ToolResult) \
            and result.tool != command.message.tool:
        return state, []  # an answer from another tool under this step id: not ours
    new, ctx = state.model_copy(deep=True), Ctx(now=now or utcnow())
    del new.pending[result.step_id]
    step = _step(new, entry.owner)
    ON_RESULT[(step.kind, type(result))](new, step, result, ctx)
    current = new.step
    if current is not None and current.id == step.id and not new.terminal \
            and not new.waiting_on(step.id):
        _complete(new, step, ctx)
    elif new.terminal:
        _finish(new, step, ctx)
    return new, ctx.out


def on_decision(state: RunState, decision: ApprovalDecision,
                now: datetime | None = None) -> Outcome:
    planned = state.action
    if (state.status is not RunStatus.WAITING_APPROVAL or planned is None
            or decision.approval_id != planned.approval_id):
        return state, []
    if decision.action_digest != planned.digest:
        return state, [EmitAudit(
            kind=AuditKind.DECISION, action="decision ignored", outcome="denied",
            actor=decision.approver_id, detail={"reason": "action digest does not match"})]
    new, ctx = state.model_copy(deep=True), Ctx(now=now or utcnow())
    step = new.workflow.steps[new.step_index]
    write_steps.apply_decision(new, step, decision, ctx)
    _complete(new, step, ctx)
    return new, ctx.out


def on_timeout(state: RunState, now: datetime | None = None) -> Outcome:
    """Give up waiting: an approval past its expiry counts as expired; a run past its
    deadline replies with what it has (or fails, when the reply itself is stuck)."""
    now = now or utcnow()
    planned = state.action
    if state.status is RunStatus.WAITING_APPROVAL and planned is not None:
        if now < planned.expires_at + APPROVAL_GRACE:
            return state, []
        new, ctx = state.model_copy(deep=True), Ctx(now=now)
        step = new.workflow.steps[new.step_index]
        write_steps.apply_decision(new, step, None, ctx)
        _complete(new, step, ctx)
        return new, ctx.out
    if state.terminal or now < state.deadline_at:
        return state, []
    return _time_out(state.model_copy(deep=True), Ctx(now=now))


def _time_out(state: RunState, ctx: Ctx) -> Outcome:
    step = state.step
    assert step is not None
    waited = ", ".join(state.waiting_on(step.id)) or step.id
    message = f"timed out after {state.workflow.budgets.run_timeout_s:.0f}s waiting for {waited}"
    state.error = message
    state.pending.clear()
    if step.kind is StepKind.REPLY:
        state.status = RunStatus.FAILED
        _finish(state, step, ctx, outcome="timeout")
        return state, ctx.out
    read_steps.add_finding(state, ctx, Finding(code="timeout", message=message))
    _finish(state, step, ctx, outcome="timeout")
    if state.investigation is not None and not state.draft:
        state.draft = render.partial_answer(state, message)
    state.reply_text = render.ground(state).text
    state.step_index = state.workflow.index_of(StepKind.REPLY)
    _advance(state, ctx)
    return state, ctx.out


def pending_commands(state: RunState) -> list[Command]:
    """The commands the run waits on that may never have reached the bus (a crash after
    the save): safe to re-send, as the server deduplicates them by id within its window.
    Commands marked sent are left out; their answer comes, or the run deadline does."""
    if state.terminal:
        return []
    return [entry.command for entry in state.pending.values() if not entry.sent]


def mark_sent(state: RunState, msg_ids: set[str]) -> RunState | None:
    """The state with the pending commands `msg_ids` marked sent; None if none changes."""
    todo = [sid for sid, e in state.pending.items()
            if not e.sent and e.command.msg_id in msg_ids]
    if not todo:
        return None
    # Copies only what changes (a deep copy of the whole run was most of this step's CPU).
    pending = {sid: e.model_copy(update={"sent": True}) if sid in todo else e
               for sid, e in state.pending.items()}
    return state.model_copy(update={"pending": pending})


# --- stepping --------------------------------------------------------------------------


def _step(state: RunState, step_id: str) -> Step:
    return next(step for step in state.workflow.steps if step.id == step_id)


def _condition_met(step: Step, state: RunState) -> bool:
    if step.when == "writes_proposed":
        return state.action is not None
    if step.when == "approved":
        return state.decision is not None and state.decision.decision.value == "approve"
    return True


def _advance(state: RunState, ctx: Ctx) -> None:
    while not state.terminal and (step := state.step) is not None:
        if not _condition_met(step, state):
            ctx.record(state, step.id, "skipped", f"when {step.when} is false")
            ctx.audit(state, AuditKind.STEP, f"step {step.id} skipped", f"{step.id}:skipped",
                      detail={"kind": step.kind.value, "when": step.when})
            state.step_index += 1
            continue
        ctx.record(state, step.id, "started")
        ctx.audit(state, AuditKind.STEP, f"step {step.id} started", f"{step.id}:started",
                  detail={"kind": step.kind.value})
        if ENTER[step.kind](state, step, ctx):
            ctx.record(state, step.id, "waiting", ", ".join(state.waiting_on(step.id)))
            return
        _close(state, step, ctx)


def _complete(state: RunState, step: Step, ctx: Ctx) -> None:
    """The step got every answer it waited for: close it and run the next ones."""
    _close(state, step, ctx)
    _advance(state, ctx)


def _close(state: RunState, step: Step, ctx: Ctx) -> None:
    _finish(state, step, ctx)
    state.step_index += 1


def _finish(state: RunState, step: Step, ctx: Ctx, outcome: str = "ok") -> None:
    ctx.record(state, step.id, "finished", outcome)
    ctx.audit(state, AuditKind.STEP, f"step {step.id} finished", f"{step.id}:finished",
              outcome=outcome, detail=_step_detail(state, step))


def _step_detail(state: RunState, step: Step) -> dict[str, Any]:
    detail: dict[str, Any] = {"kind": step.kind.value}
    inv = state.investigation
    if step.kind is StepKind.CLASSIFY and state.skill is not None:
        detail.update(skill=state.skill.name, skill_version=state.skill.version,
                      skill_sha256=state.skill.sha256, repo=state.repo,
                      unknown_repos=state.unknown_repos)
    elif step.kind is StepKind.INVESTIGATE and inv is not None:
        detail.update(turns=inv.turn, tool_calls=state.counters.tool_calls,
                      calls=[f"{c.tool}:{c.status}" for c in inv.calls], tokens=inv.tokens,
                      cost_usd=round(state.cost_usd, 6), stopped=inv.stopped,
                      evidence=len(state.evidence), proposed=len(state.proposed_actions),
                      model=f"{inv.provider}:{inv.model}")
    elif step.kind is StepKind.POLICY:
        detail.update(findings=[f.code for f in state.findings],
                      write_proposed=state.action is not None)
    elif step.kind is StepKind.APPROVAL and state.decision is not None:
        detail.update(decision=state.decision.decision.value,
                      approver=state.decision.approver_id)
    elif step.kind is StepKind.ACT:
        detail.update(ok=all(w.ok for w in state.write_results))
    elif step.kind is StepKind.REPLY:
        detail.update(status=state.status.value, ts=state.posted_ts)
    return detail
