"""The reply in Slack: the grounded answer, what became of a write, what could not be
checked, and a footer that says which skill, tools and model produced it. Pure.

Every text here is either escaped (`slack_text.escape`) or built by the bot from fetched
evidence; the answer itself was grounded and escaped by the policy step (`reply_text`).
"""

from typing import Any

from triage_contracts.messages import Evidence, RequestKind
from triage_contracts.redact import redact_text
from triage_contracts.slack_actions import FEEDBACK_BLOCK, ActionId

from . import grounding
from .approval_text import action_summary, context, outcome_line
from .reply_pages import Page, paginate
from .slack_text import cap, escape, link
from .split import sections
from .state import RunState

QUOTE_LIMIT = 300
NOTE_CODES = ("budget", "timeout", "unknown_repo", "grounding", "injection")
__all__ = ["Page", "action_summary", "answer_text", "evidence_list", "ground", "partial_answer",
           "reply"]


def evidence_list(evidence: list[Evidence], limit: int = 8) -> str:
    """Bullet list with links the bot builds (titles are untrusted: escaped)."""
    lines = []
    for item in evidence[:limit]:
        title = link(item.url, item.title) if item.url else escape(item.title)
        detail = f" ({escape(item.detail[:120])})" if item.detail and not item.url else ""
        lines.append(f"• {escape(item.source)}: {title}{detail}")
    return "\n".join(lines) or "• (nothing)"


def partial_answer(state: RunState, reason: str) -> str:
    """An answer composed without a model: why it stopped and what it found. Plain text
    (it is grounded and escaped like any draft); links come from the evidence."""
    lines = [f"I could not finish the investigation: {reason}."]
    if state.evidence:
        lines.append("What I found:")
        lines += [f"• {e.source}: {e.title}" + (f" {e.url}" if e.url else "")
                  for e in state.evidence[:8]]
    else:
        lines.append("I found no evidence before stopping.")
    return "\n".join(lines)


def ground(state: RunState) -> grounding.Grounded:
    """The draft checked against what this run fetched, escaped for Slack."""
    index = grounding.Index()
    inv = state.investigation
    for message in inv.messages if inv else []:
        if message.role == "tool":
            index.add_output(message.content)
    index.add_evidence(state.evidence)
    if state.thread is not None:
        index.add_evidence(state.thread.evidence)
    return grounding.ground(state.draft, index)


def _notes(state: RunState) -> list[str]:
    notes = list(state.notes)
    inv = state.investigation
    if inv is not None:
        notes += [f"Not checked: {call.note}" for call in inv.calls
                  if call.note and call.status in ("error", "not_run")]
    notes += [f.message for f in state.findings if f.code in NOTE_CODES]
    return list(dict.fromkeys(notes))


def _asked(state: RunState) -> list[str]:
    """A slash command is invisible to the channel: its answer quotes what was asked."""
    if state.request.request_kind is not RequestKind.COMMAND:
        return []
    question = escape(redact_text(" ".join(state.request.text.split())))
    return [f"> <@{state.request.user_id}> asked: {cap(question, QUOTE_LIMIT)}"]


def answer_text(state: RunState) -> str:
    return state.reply_text or escape(redact_text(state.draft)) or _fallback(state)


def reply(state: RunState) -> list[Page]:
    """The reply as one message, or several when it is long (`reply_pages.py`)."""
    parts = [*_asked(state), *sections(answer_text(state))]
    line = outcome_line(state)
    if line:
        parts += sections(line)
    notes = _notes(state)
    if notes:
        parts += sections("\n".join(f"_Note: {escape(redact_text(note))}_"
                                     for note in notes[:8]))
    rating = [] if state.refused else [feedback_buttons(state.run_id)]
    return paginate(parts, [*rating, context(context_line(state))])


def feedback_buttons(run_id: str) -> dict[str, Any]:
    """Was this answer helpful? The clicks are audited with the run (see the ingress)."""
    def button(action: ActionId, label: str) -> dict[str, Any]:
        return {"type": "button", "action_id": action.value, "value": run_id,
                "text": {"type": "plain_text", "text": label, "emoji": True}}

    return {"type": "actions", "block_id": FEEDBACK_BLOCK, "elements": [
        button(ActionId.FEEDBACK_GOOD, ":thumbsup: Helpful"),
        button(ActionId.FEEDBACK_BAD, ":thumbsdown: Not helpful")]}


def _fallback(state: RunState) -> str:
    return ("I could not finish the triage of this question. Evidence collected so far:\n"
            + evidence_list(state.evidence))


def model_label(state: RunState) -> str:
    inv = state.investigation
    if inv is None or not inv.provider:
        return "no model"
    if inv.provider == "offline":
        return "offline rules (no model configured)"
    return escape(f"{inv.provider} {inv.model}")


def context_line(state: RunState) -> str:
    skill = (f"skill {escape(state.skill.name)} v{escape(state.skill.version)}"
             if state.skill else "no skill")
    inv = state.investigation
    work = (f"{state.counters.tool_calls} tool calls in {inv.turn} turns"
            if inv else "no investigation")
    return (f"{skill} · {work} · {model_label(state)} · ${state.cost_usd:.4f} · "
            f"run {state.run_id}")
