"""Step handlers of the reading half of a run: classify and policy (the investigation
itself is `loop.py`, the reply `reply_step.py`).

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
    ProposedAction,
)

from . import policy, render
from .classify import classify_messages, hinted, pick_repo, skill_named, unknown_repos
from .commands import PublishModelCall, cmd_id
from .context import Ctx
from .loop import writes_offered
from .skills import Skill
from .spec import Step
from .state import Finding, PlannedAction, RunState

CLASSIFY_TOKENS = 20


def add_finding(state: RunState, ctx: Ctx, finding: Finding) -> None:
    state.findings.append(finding)
    index = len(state.findings) - 1
    ctx.audit(state, AuditKind.POLICY, f"policy.{finding.code}", f"policy:{index}",
              outcome="blocked" if finding.severity == "block" else "flagged",
              detail={"message": finding.message, "severity": finding.severity})


def enter_classify(state: RunState, step: Step, ctx: Ctx) -> bool:
    """Repository from the text; skill chosen by the model from the descriptions (no call
    when only one skill is available)."""
    if not ctx.skills:
        raise ValueError("classify runs when a run starts; no skills were given")
    text, config = state.request.text, state.config
    state.repo = pick_repo(text, config)
    state.service = config.service_of(state.repo)
    state.unknown_repos = unknown_repos(text, config)
    if state.unknown_repos:
        add_finding(state, ctx, Finding(code="unknown_repo", severity="info", message=(
            f"{', '.join(state.unknown_repos)} is not one of this workspace's repositories "
            f"({', '.join(config.repos) or 'none configured'}); I did not look at it")))
    hints = hinted(text, ctx.skills)
    if len(ctx.skills) == 1:
        _choose(state, step, ctx.skills[0], "the only skill", ctx)
        return False
    state.candidates = list(ctx.skills)
    state.counters.model_calls += 1
    assert step.route is not None
    message = ModelCall(team_id=state.team_id, run_id=state.run_id, step_id=step.id,
                        route=step.route, messages=classify_messages(text, ctx.skills, hints),
                        max_tokens=CLASSIFY_TOKENS)
    ctx.send(state, step.id, step.id,
             PublishModelCall(message=message, msg_id=cmd_id(state.run_id, step.id)))
    return True


def on_classify_result(state: RunState, step: Step, result: ModelResult, ctx: Ctx) -> None:
    state.cost_usd += result.usage.cost_usd
    skills = state.candidates
    chosen = skill_named(result.content, skills) if result.ok else None
    how = f"chosen by {result.provider or 'the model'}"
    if chosen is None:
        chosen = hinted(state.request.text, skills)[0]
        how = "keyword rules (the model named no known skill)"
    _choose(state, step, chosen, how, ctx)
    state.candidates = []


def _choose(state: RunState, step: Step, skill: Skill, how: str, ctx: Ctx) -> None:
    state.skill = skill
    ctx.record(state, step.id, "classified",
               f"skill={skill.name} v{skill.version} ({how}) repo={state.repo}")


def enter_policy(state: RunState, step: Step, ctx: Ctx) -> bool:
    assert state.skill is not None
    inv = state.investigation
    outputs = [m.content for m in inv.messages if m.role == "tool"] if inv else []
    outcome = policy.review(state.draft, state.evidence, state.proposed_actions,
                            writes_offered(state), state.config.repos,
                            question=state.request.text, tool_outputs=outputs)
    state.draft = outcome.draft
    for finding in outcome.findings:
        add_finding(state, ctx, finding)
    grounded = render.ground(state)
    state.reply_text = grounded.text
    if grounded.unverified:
        add_finding(state, ctx, Finding(code="grounding", severity="warning",
                                        message=_unverified(grounded.unverified)))
    if len(outcome.actions) > 1:
        add_finding(state, ctx, Finding(
            code="invalid_action", severity="block",
            message=f"{len(outcome.actions) - 1} extra proposed write(s) dropped: one per run"))
    if outcome.actions:
        first = outcome.actions[0]
        state.action = _plan(state, first.action, first.suspicious, ctx)
    return False


def _unverified(refs: list[str]) -> str:
    """What the reply says about references it could not verify; removed links are only
    counted (repeating an address would put it back in the message)."""
    links = [r for r in refs if r.startswith("http")]
    others = [r for r in refs if not r.startswith("http")]
    parts = [f"{len(links)} link(s) removed"] if links else []
    if others:
        parts.append("marked unverified: " + ", ".join(others[:6]))
    return f"not in what I fetched, so {'; '.join(parts)}"


def _plan(state: RunState, action: ProposedAction, suspicious: bool, ctx: Ctx) -> PlannedAction:
    digest = action_digest(action.tool, action.arguments, state.run_id, state.team_id)
    return PlannedAction(
        action=action, digest=digest, approval_id=stable_id("apr-", state.run_id, digest),
        suspicious=suspicious,
        expires_at=ctx.now + timedelta(seconds=state.config.approval_ttl_s),
    )
