"""Step handlers of the writing half of a run: ask a human (approval), then act.

The approval prompt in Slack is a side channel: the run waits on the decision, not on
the prompt being posted, and the prompt is edited to show the verdict once both the
decision and the prompt's message ts are known (whichever arrives last triggers it).
"""

from datetime import timedelta

from triage_contracts.messages import (
    ApprovalDecision,
    ApprovalGrant,
    ApprovalRequest,
    Decision,
    NotifyKind,
    NotifyRequest,
    NotifyResult,
    ToolCall,
    ToolResult,
    ToolStatus,
)
from triage_contracts.redact import redact_text

from . import approval_text as render
from .commands import PublishApprovalRequest, PublishNotify, PublishToolCall, cmd_id
from .context import Ctx
from .read_steps import add_finding
from .spec import Step
from .state import Finding, RunState, RunStatus, WriteOutcome

MAX_EVIDENCE_FOR_APPROVER = 30


def enter_approval(state: RunState, step: Step, ctx: Ctx) -> bool:
    planned = state.action
    assert planned is not None
    request = ApprovalRequest(
        team_id=state.team_id, run_id=state.run_id, approval_id=planned.approval_id,
        requester_id=state.request.user_id, action=planned.action, action_digest=planned.digest,
        evidence=state.evidence[:MAX_EVIDENCE_FOR_APPROVER], draft_answer=state.draft,
        question=redact_text(state.request.text), channel_id=state.request.channel_id,
        thread_ts=state.request.thread_ts, expires_at=planned.expires_at,
    )
    ctx.send(state, step.id, step.id, PublishApprovalRequest(
        message=request, msg_id=cmd_id(state.run_id, step.id)))
    text, blocks = render.approval_prompt(state, planned)
    prompt = NotifyRequest(
        team_id=state.team_id, run_id=state.run_id, step_id=f"{step.id}-prompt",
        enterprise_id=state.request.enterprise_id, response_url=state.request.response_url,
        notify_kind=NotifyKind.APPROVAL_PROMPT, channel_id=state.request.channel_id,
        thread_ts=state.request.thread_ts, text=text, blocks=blocks,
    )
    ctx.send(state, step.id, prompt.step_id,
             PublishNotify(message=prompt, msg_id=cmd_id(state.run_id, prompt.step_id)),
             blocking=False)
    state.status = RunStatus.WAITING_APPROVAL
    return True


def on_prompt_result(state: RunState, step: Step, result: NotifyResult, ctx: Ctx) -> None:
    if result.step_id != f"{step.id}-prompt":
        return  # the prompt's edit: nothing more to do
    if result.ok:
        state.prompt_ts = result.ts
        update_prompt(state, step, ctx)
    else:
        state.notes.append(f"the approval prompt could not be posted in Slack: {result.error}")


def update_prompt(state: RunState, step: Step, ctx: Ctx) -> None:
    """Edit the prompt to show the verdict, once, when both the ts and a verdict exist."""
    decided = state.decision is not None or state.approval_expired
    if state.action is None or not state.prompt_ts or state.prompt_updated or not decided:
        return
    text, blocks = render.approval_update(state, state.action)
    update = NotifyRequest(
        team_id=state.team_id, run_id=state.run_id, step_id=f"{step.id}-update",
        enterprise_id=state.request.enterprise_id, response_url=state.request.response_url,
        notify_kind=NotifyKind.APPROVAL_PROMPT, channel_id=state.request.channel_id,
        thread_ts=state.request.thread_ts, text=text, blocks=blocks, update_ts=state.prompt_ts,
    )
    ctx.send(state, step.id, update.step_id,
             PublishNotify(message=update, msg_id=cmd_id(state.run_id, update.step_id)),
             blocking=False)
    state.prompt_updated = True


def apply_decision(state: RunState, step: Step, decision: ApprovalDecision | None,
                   ctx: Ctx) -> None:
    """Record the verdict (None = expired without one) and let the run continue."""
    state.decision = decision
    state.approval_expired = decision is None or decision.decision is Decision.EXPIRE
    state.pending.pop(step.id, None)
    state.status = RunStatus.RUNNING
    # The human wait does not count against the run's own time budget.
    state.deadline_at = ctx.now + timedelta(seconds=state.workflow.budgets.run_timeout_s)
    verdict = render.decision_text(decision, state.approval_expired)
    ctx.record(state, step.id, "decided", verdict)
    update_prompt(state, step, ctx)


def enter_act(state: RunState, step: Step, ctx: Ctx) -> bool:
    planned, decision = state.action, state.decision
    assert planned is not None and decision is not None
    step_id = f"{step.id}-0"
    budget = state.workflow.budgets.max_tool_calls
    if state.counters.tool_calls >= budget:
        add_finding(state, ctx, Finding(
            code="budget", message=f"approved write skipped: max_tool_calls={budget}"))
        state.write_results.append(WriteOutcome(
            step_id=step_id, tool=planned.action.tool, ok=False,
            error="the tool-call budget of this run is exhausted"))
        return False
    state.counters.tool_calls += 1
    grant = ApprovalGrant(
        approval_id=decision.approval_id, action_digest=decision.action_digest,
        approver_id=decision.approver_id, decided_at=decision.decided_at,
        signature=decision.signature, kid=decision.kid, expires_at=decision.expires_at,
    )
    message = ToolCall(team_id=state.team_id, run_id=state.run_id, step_id=step_id,
                       tool=planned.action.tool, arguments=planned.action.arguments, grant=grant)
    ctx.send(state, step.id, step_id,
             PublishToolCall(message=message, msg_id=cmd_id(state.run_id, step_id)))
    return True


def on_act_result(state: RunState, step: Step, result: ToolResult, ctx: Ctx) -> None:
    data = result.data if isinstance(result.data, dict) else {}
    ok = result.status is ToolStatus.SUCCESS
    error = None if ok else (result.error or f"the tool answered {result.status.value}")
    state.write_results.append(WriteOutcome(
        step_id=result.step_id, tool=result.tool, ok=ok, url=data.get("url"),
        data=result.data, error=redact_text(error) if error else None))
