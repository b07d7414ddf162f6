"""Slack text and Block Kit of the approval prompt and its verdict. Pure string building.

What an approver approves must be what they saw: when the exact effect does not fit in a
Slack section, the prompt says it is cut and offers no Approve button there (only the link
to the full effect in the approval UI, and Reject). Approve asks for confirmation. Every
untrusted text (the model's comment body, a reject reason) is escaped.
"""

from typing import Any

from triage_contracts.messages import ApprovalDecision, Decision
from triage_contracts.redact import redact_text
from triage_contracts.slack_actions import ActionId, approval_block_id

from .slack_text import escape, link
from .state import PlannedAction, RunState

SECTION_LIMIT = 2900  # Slack rejects section text over 3000 characters


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _quote(body: str) -> str:
    return "\n".join(f"> {line}" for line in body.splitlines() or [""])


def approval_url(state: RunState, approval_id: str) -> str:
    return f"{state.config.approval_public_url}/approvals/{approval_id}"


def action_summary(tool: str, arguments: dict[str, Any]) -> str:
    """One line an approver reads before saying yes (the same for every surface)."""
    if "repo" in arguments and "issue_number" in arguments:
        target = f"{arguments.get('repo')}#{arguments.get('issue_number')}"
        return f"Comment on {target}" if tool == "github.comment_issue" else f"{tool} on {target}"
    return tool


def effect_text(planned: PlannedAction) -> str:
    args = planned.action.arguments
    if planned.action.tool == "github.comment_issue":
        body = escape(redact_text(str(args.get("body", ""))))
        text = (f"*Proposed effect:* comment on `{escape(str(args.get('repo')))}"
                f"#{args.get('issue_number')}`\n{_quote(body)}")
    else:
        text = f"*Proposed effect:* `{planned.action.tool}` with `{escape(redact_text(str(args)))}`"
    if planned.suspicious:
        text = "⚠️ *Suspicious:* the evidence contains prompt-injection signals.\n" + text
    return text


def summary(planned: PlannedAction) -> str:
    return escape(planned.action.summary or action_summary(planned.action.tool,
                                                           planned.action.arguments))


def _buttons(planned: PlannedAction, fits: bool) -> dict[str, Any]:
    reject = {"type": "button", "action_id": ActionId.REJECT, "style": "danger",
              "text": {"type": "plain_text", "text": "Reject"}, "value": planned.approval_id}
    approve = {"type": "button", "action_id": ActionId.APPROVE, "style": "primary",
               "text": {"type": "plain_text", "text": "Approve"}, "value": planned.approval_id,
               "confirm": {"title": {"type": "plain_text", "text": "Approve this write?"},
                           "text": {"type": "mrkdwn", "text": summary(planned)},
                           "confirm": {"type": "plain_text", "text": "Approve"},
                           "deny": {"type": "plain_text", "text": "Cancel"}}}
    return {"type": "actions", "block_id": approval_block_id(planned.approval_id),
            "elements": [approve, reject] if fits else [reject]}


def approval_prompt(state: RunState, planned: PlannedAction) -> tuple[str, list[dict[str, Any]]]:
    link = approval_url(state, planned.approval_id)
    effect = effect_text(planned)
    fits = len(effect) <= SECTION_LIMIT
    if not fits:
        effect = (effect[: SECTION_LIMIT - 200].rsplit("\n", 1)[0]
                  + f"\n… *cut: the effect is longer than Slack shows.* <{link}|Read all of it> "
                    "and approve it in the approval UI.")
    expires = planned.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    blocks = [section(state.reply_text or "(no draft)"), section(effect),
              _buttons(planned, fits),
              context(f"<{link}|Review in the approval UI> · expires {expires}")]
    return f"Approval needed: {summary(planned)}", blocks


def decision_text(decision: ApprovalDecision | None, expired: bool = False) -> str:
    if decision is None or decision.decision is Decision.EXPIRE or expired:
        return "Expired: nobody decided before the approval expired"
    if decision.decision is Decision.APPROVE:
        return f"Approved by <@{decision.approver_id}>"
    reason = f": {escape(redact_text(decision.reason))}" if decision.reason else ""
    return f"Rejected by <@{decision.approver_id}>{reason}"


def approval_update(state: RunState, planned: PlannedAction) -> tuple[str, list[dict[str, Any]]]:
    verdict = decision_text(state.decision, state.approval_expired)
    link = approval_url(state, planned.approval_id)
    blocks = [section(f"*{verdict}* — {summary(planned)}"),
              section(effect_text(planned)[:SECTION_LIMIT]),
              context(f"<{link}|Approval record>")]
    return f"{verdict}: {summary(planned)}", blocks


def outcome_line(state: RunState) -> str | None:
    planned = state.action
    if planned is None:
        return None
    args = planned.action.arguments
    target = escape(f"{args.get('repo')}#{args.get('issue_number')}")
    decision = state.decision
    if decision is not None and decision.decision is Decision.APPROVE:
        done = next((w for w in state.write_results if w.ok), None)
        if done is not None:
            where = link(done.url, f"{args.get('repo')}#{args.get('issue_number')}") \
                if done.url else target
            return f"✅ Commented on {where} (approved by <@{decision.approver_id}>)"
        failed = next((w for w in state.write_results if not w.ok), None)
        error = escape(failed.error or "") if failed else "it was not performed"
        return f"⚠️ Approved, but the comment on {target} failed: {error}"
    verdict = decision_text(decision, state.approval_expired)
    return f"Not performed: {verdict[:1].lower()}{verdict[1:]}"
