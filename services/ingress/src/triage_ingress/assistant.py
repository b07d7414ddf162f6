"""The assistant thread's dressing (Slack's Agents & AI Apps surface): suggested prompts
when someone opens a thread with the app (`assistant_thread_started`, and again when the
channel they look at changes: `assistant_thread_context_changed`), and a title from the
question when one is asked in a DM with the app. Pure: which thread, which prompts,
which title.

Neither is ever a run, and both are best effort (see assistant_calls.py): a thread
without prompts or title still works, so nothing here is retried or fails a request.
"""

from dataclasses import dataclass
from typing import Any

from triage_contracts.messages import RequestKind, TriageRequest
from triage_contracts.redact import redact_text

from .streaming import DM_PREFIX  # Slack's ids of direct conversations (assistant threads)

EVENTS = frozenset({"assistant_thread_started", "assistant_thread_context_changed"})
PROMPTS_TITLE = "Try asking"
TITLE_LIMIT = 60
# One per skill: CI, an incident, a pull request, an issue (the wording routes to them).
PROMPTS: tuple[dict[str, str], ...] = (
    {"title": "Why is CI failing?",
     "message": "Why is CI failing on main, and which commit broke it?"},
    {"title": "What broke in production?",
     "message": "We are seeing 502s since the last deploy. What broke it?"},
    {"title": "Is the latest pull request risky?",
     "message": "Review the most recent pull request: what does it change and is it risky?"},
    {"title": "Summarise an issue",
     "message": "Summarise the most recent open bug issue and what was tried so far."},
)


@dataclass(frozen=True)
class Thread:
    """An assistant thread, and the workspace whose token speaks in it."""

    team_id: str
    enterprise_id: str | None
    channel_id: str
    thread_ts: str


def opened(payload: dict[str, Any], team_id: str) -> Thread | None:
    """The thread an `assistant_thread_*` event is about (None: not one, or malformed)."""
    event = payload.get("event") or {}
    found = event.get("assistant_thread") if isinstance(event, dict) else None
    if not isinstance(found, dict):
        return None
    channel, thread = found.get("channel_id"), found.get("thread_ts")
    if not isinstance(channel, str) or not isinstance(thread, str) or not channel or not thread:
        return None
    return Thread(team_id, payload.get("enterprise_id") or None, channel, thread)


def asked(request: TriageRequest) -> tuple[Thread, str] | None:
    """The thread to title, and its title, for a question asked in a DM with the app.
    Questions in the app's assistant view are thread replies (the thread Slack opened
    with `assistant_thread_started`); a top-level DM is no assistant thread."""
    if (request.request_kind is not RequestKind.DM or not request.in_thread
            or not request.thread_ts or not request.channel_id.startswith(DM_PREFIX)):
        return None
    title = title_of(request.text)
    if not title:
        return None
    thread = Thread(request.team_id, request.enterprise_id, request.channel_id,
                    request.thread_ts)
    return thread, title


def title_of(question: str) -> str:
    """One line, secrets redacted, cut to TITLE_LIMIT, then Slack's three control
    characters escaped (cut first: an entity is never split)."""
    line = " ".join(redact_text(question).split())
    if len(line) > TITLE_LIMIT:
        line = line[: TITLE_LIMIT - 1].rstrip() + "…"
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
