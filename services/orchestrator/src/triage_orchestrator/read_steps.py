"""Step handlers of the reading half of a run: classify, gather, model, policy, reply.

Each `enter_*` mutates the (already copied) state, queues commands on the context and
returns True when the step must wait for answers. Each `on_*` applies one answer.
"""

from datetime import timedelta

from triage_contracts.approvals import action_digest
from triage_contracts.ids import stable_id
from triage_contracts.messages import (
    AuditKind,
    ModelCall,
    ModelResult,
    NotifyKind,
    NotifyRequest,
    NotifyResult,
    ProposedAction,
    ToolCall,
    ToolResult,
)
from triage_contracts.redact import redact_text

from . import policy, render
from .classify import classify, render_call
from .commands import PublishModelCall, PublishNotify, PublishToolCall, cmd_id
from .context import Ctx
from .evidence import from_result
from .prompts import draft_messages, write_tool_specs
from .spec import Step
from .state import Finding, GatherRecord, PlannedAction, RunState, RunStatus


def add_finding(state: RunState, ctx: Ctx, finding: Finding) -> None:
    state.findings.append(finding)
    index = len(state.findings) - 1
    ctx.audit(state, AuditKind.POLICY, f"policy.{finding.code}", f"policy:{index}",
              outcome="blocked" if finding.severity == "block" else "flagged",
              detail={"message": finding.message, "severity": finding.severity})


def enter_classify(state: RunState, step: Step, ctx: Ctx) -> bool:
    if not ctx.skills:
        raise ValueError("classify runs when a run starts; no skills were given")
    found = classify(state.request.text, ctx.skills, state.config)
    state.skill, state.repo, state.service = found.skill, found.repo, found.service
    ctx.record(state, step.id, "classified",
               f"skill={found.skill.name} v{found.skill.version} repo={found.repo}")
    return False


def enter_gather(state: RunState, step: Step, ctx: Ctx) -> bool:
    assert state.skill is not None
    values = {"repo": state.repo, "service": state.service, "question": state.request.text}
    skipped = 0
    for index, call in enumerate(state.skill.gather):
        step_id = f"{step.id}-{index}"
        try:
            args, label = render_call(call, values)
        except KeyError as missing:
            state.notes.append(f"{call.tool} skipped: no {missing.args[0]} is configured")
            continue
        if state.counters.tool_calls >= state.workflow.budgets.max_tool_calls:
            skipped += 1
            continue
        state.counters.tool_calls += 1
        state.gathered.append(GatherRecord(step_id=step_id, tool=call.tool, args=args, label=label))
        message = ToolCall(team_id=state.team_id, run_id=state.run_id, step_id=step_id,
                           tool=call.tool, arguments=args)
        ctx.send(state, step.id, step_id,
                 PublishToolCall(message=message, msg_id=cmd_id(state.run_id, step_id)))
    if skipped:
        budget = state.workflow.budgets.max_tool_calls
        add_finding(state, ctx, Finding(
            code="budget", message=f"{skipped} tool call(s) skipped: max_tool_calls={budget}"))
    return bool(state.waiting_on(step.id))


def on_tool_result(state: RunState, step: Step, result: ToolResult, ctx: Ctx) -> None:
    state.tool_results[result.step_id] = result


def finish_gather(state: RunState, step: Step, ctx: Ctx) -> None:
    """Evidence in the skill's order (not arrival order): the prompt stays deterministic."""
    for record in state.gathered:
        result = state.tool_results.get(record.step_id)
        if result is None:
            continue
        evidence, notes = from_result(result, record.args, record.label, state.service)
        state.evidence.extend(evidence)
        state.notes.extend(notes)


def enter_model(state: RunState, step: Step, ctx: Ctx) -> bool:
    assert state.skill is not None and step.route is not None
    budget = state.workflow.budgets.max_model_calls
    if state.counters.model_calls >= budget:
        add_finding(state, ctx, Finding(
            code="budget", message=f"model step {step.id} skipped: max_model_calls={budget}"))
        _model_failed(state, "the model-call budget of this run is exhausted")
        return False
    state.counters.model_calls += 1
    message = ModelCall(
        team_id=state.team_id, run_id=state.run_id, step_id=step.id, route=step.route,
        messages=draft_messages(state.skill.instructions, state.request.text, state.evidence),
        tools=write_tool_specs(state.skill.write_tools),
    )
    ctx.send(state, step.id, step.id,
             PublishModelCall(message=message, msg_id=cmd_id(state.run_id, step.id)))
    return True


def _model_failed(state: RunState, why: str) -> None:
    state.model_ok = False
    state.proposed_actions = []
    state.draft = (f"I could not draft an answer: {why}. Evidence collected:\n"
                   + render.evidence_list(state.evidence))


def on_model_result(state: RunState, step: Step, result: ModelResult, ctx: Ctx) -> None:
    state.cost_usd += result.usage.cost_usd
    if not result.ok:
        _model_failed(state, f"the model call failed ({result.error or 'no reason given'})")
        return
    state.model_ok = True
    state.draft = result.content
    state.proposed_actions = list(result.proposed_actions)


def enter_policy(state: RunState, step: Step, ctx: Ctx) -> bool:
    assert state.skill is not None
    outcome = policy.review(state.draft, state.evidence, state.proposed_actions,
                            state.skill.write_tools, state.config.repos,
                            question=state.request.text)
    state.draft = outcome.draft
    for finding in outcome.findings:
        add_finding(state, ctx, finding)
    if len(outcome.actions) > 1:
        add_finding(state, ctx, Finding(
            code="invalid_action", severity="block",
            message=f"{len(outcome.actions) - 1} extra proposed write(s) dropped: one per run"))
    if outcome.actions:
        first = outcome.actions[0]
        state.action = _plan(state, first.action, first.suspicious, ctx)
    return False


def _plan(state: RunState, action: ProposedAction, suspicious: bool, ctx: Ctx) -> PlannedAction:
    digest = action_digest(action.tool, action.arguments, state.run_id, state.team_id)
    return PlannedAction(
        action=action, digest=digest, approval_id=stable_id("apr-", state.run_id, digest),
        suspicious=suspicious,
        expires_at=ctx.now + timedelta(seconds=state.config.approval_ttl_s),
    )


def enter_reply(state: RunState, step: Step, ctx: Ctx) -> bool:
    text, blocks = render.reply(state)
    message = NotifyRequest(
        team_id=state.team_id, run_id=state.run_id, step_id=step.id,
        notify_kind=NotifyKind.REPLY, channel_id=state.request.channel_id,
        thread_ts=state.request.thread_ts, text=text, blocks=blocks,
    )
    ctx.send(state, step.id, step.id,
             PublishNotify(message=message, msg_id=cmd_id(state.run_id, step.id)))
    return True


def on_reply_result(state: RunState, step: Step, result: NotifyResult, ctx: Ctx) -> None:
    if result.ok:
        state.posted_ts = result.ts
        state.status = RunStatus.DONE
    else:
        state.status = RunStatus.FAILED
        state.error = redact_text(f"the reply could not be posted: {result.error}")
    ctx.audit(state, AuditKind.STEP, "run finished", "run:finished",
              outcome=state.status.value,
              detail={"cost_usd_total": round(state.cost_usd, 6),
                      "tool_calls": state.counters.tool_calls,
                      "model_calls": state.counters.model_calls,
                      "skill": state.skill.name if state.skill else None,
                      "posted_ts": state.posted_ts, "error": state.error})
