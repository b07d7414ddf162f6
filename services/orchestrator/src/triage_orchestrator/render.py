"""Slack text and Block Kit for the reply and the approval prompt. Pure string building;
every text that leaves here has been redacted (it is posted where many people read it)."""

from typing import Any

from triage_contracts.messages import ApprovalDecision, Decision, Evidence
from triage_contracts.redact import redact_text
from triage_contracts.slack_actions import ActionId, approval_block_id

from .state import PlannedAction, RunState

SECTION_LIMIT = 2900  # Slack rejects section text over 3000 characters
TEXT_LIMIT = 3900  # Slack advises message text under 4000 characters (truncates at 40k)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cap(text, SECTION_LIMIT)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _quote(body: str) -> str:
    return "\n".join(f"> {line}" for line in body.splitlines() or [""])


def approval_url(state: RunState, approval_id: str) -> str:
    return f"{state.config.approval_public_url}/approvals/{approval_id}"


def effect_text(planned: PlannedAction) -> str:
    args = planned.action.arguments
    if planned.action.tool == "github.comment_issue":
        text = (f"*Proposed effect:* comment on `{args.get('repo')}#{args.get('issue_number')}`"
                f"\n{_quote(str(args.get('body', '')))}")
    else:
        text = f"*Proposed effect:* `{planned.action.tool}` with `{args}`"
    if planned.suspicious:
        text = "⚠️ *Suspicious:* the evidence contains prompt-injection signals.\n" + text
    return redact_text(text)


def summary(planned: PlannedAction) -> str:
    args = planned.action.arguments
    if planned.action.summary:
        return planned.action.summary
    if planned.action.tool == "github.comment_issue":
        return f"Comment on {args.get('repo')}#{args.get('issue_number')}"
    return planned.action.tool


def approval_prompt(state: RunState, planned: PlannedAction) -> tuple[str, list[dict[str, Any]]]:
    link = approval_url(state, planned.approval_id)
    blocks = [
        _section(redact_text(state.draft or "(no draft)")),
        _section(effect_text(planned)),
        {"type": "actions", "block_id": approval_block_id(planned.approval_id), "elements": [
            {"type": "button", "action_id": ActionId.APPROVE, "style": "primary",
             "text": {"type": "plain_text", "text": "Approve"}, "value": planned.approval_id},
            {"type": "button", "action_id": ActionId.REJECT, "style": "danger",
             "text": {"type": "plain_text", "text": "Reject"}, "value": planned.approval_id},
        ]},
        _context(f"<{link}|Review in the approval UI> · expires "
                 f"{planned.expires_at.strftime('%Y-%m-%d %H:%M UTC')}"),
    ]
    return redact_text(f"Approval needed: {summary(planned)}"), blocks


def decision_text(decision: ApprovalDecision | None, expired: bool = False) -> str:
    if decision is None or decision.decision is Decision.EXPIRE or expired:
        return "Expired: nobody decided before the approval expired"
    if decision.decision is Decision.APPROVE:
        return f"Approved by <@{decision.approver_id}>"
    reason = f": {decision.reason}" if decision.reason else ""
    return redact_text(f"Rejected by <@{decision.approver_id}>{reason}")


def approval_update(state: RunState, planned: PlannedAction) -> tuple[str, list[dict[str, Any]]]:
    verdict = decision_text(state.decision, state.approval_expired)
    link = approval_url(state, planned.approval_id)
    blocks = [
        _section(f"*{verdict}* — {summary(planned)}"),
        _section(effect_text(planned)),
        _context(f"<{link}|Approval record>"),
    ]
    return redact_text(f"{verdict}: {summary(planned)}"), blocks


def outcome_line(state: RunState) -> str | None:
    planned = state.action
    if planned is None:
        return None
    args = planned.action.arguments
    target = f"{args.get('repo')}#{args.get('issue_number')}"
    decision = state.decision
    if decision is not None and decision.decision is Decision.APPROVE:
        done = next((w for w in state.write_results if w.ok), None)
        if done is not None:
            where = f"<{done.url}|{target}>" if done.url else target
            return f"✅ Commented on {where} (approved by <@{decision.approver_id}>)"
        failed = next((w for w in state.write_results if not w.ok), None)
        error = failed.error if failed else "it was not performed"
        return f"⚠️ Approved, but the comment on {target} failed: {error}"
    return f"Not performed: {_lower_first(decision_text(decision, state.approval_expired))}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def evidence_list(evidence: list[Evidence], limit: int = 8) -> str:
    lines = []
    for item in evidence[:limit]:
        title = f"<{item.url}|{item.title}>" if item.url else item.title
        lines.append(f"• {item.source}: {title}")
    return "\n".join(lines) or "• (none)"


def reply(state: RunState) -> tuple[str, list[dict[str, Any]]]:
    parts = [state.draft or _fallback(state)]
    line = outcome_line(state)
    if line:
        parts.append(line)
    notes = state.notes + [f.message for f in state.findings if f.code in ("budget", "timeout")]
    if notes:
        parts.append("\n".join(f"_Note: {note}_" for note in notes))
    text = _cap(redact_text("\n\n".join(parts)), TEXT_LIMIT)
    return text, [_section(text), _context(context_line(state))]


def _fallback(state: RunState) -> str:
    return ("I could not finish the triage of this question. Evidence collected so far:\n"
            + evidence_list(state.evidence))


def context_line(state: RunState) -> str:
    skill = f"skill {state.skill.name} v{state.skill.version}" if state.skill else "no skill"
    tools = sorted({r.tool for r in state.gathered})
    sources = f"{len(state.evidence)} sources ({', '.join(tools)})" if tools else "no sources"
    return f"{skill} · {sources} · ${state.cost_usd:.4f} · run {state.run_id}"
