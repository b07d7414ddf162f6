"""Slack payloads in, `TriageRequest` (or a reason to ignore) out. Pure: no I/O, so every
rule about what the agent answers (and what it must never answer: bots, itself, edits)
is tested without a server."""

import json
import re
from dataclasses import dataclass
from typing import Any

from triage_contracts import subjects
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.ids import stable_id
from triage_contracts.messages import RequestKind, TriageRequest

_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Ignored:
    """A valid request the agent deliberately does not answer (still 200 to Slack)."""

    reason: str


def parse_json(body: bytes | str, what: str = "body") -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise PermanentError(f"{what} is not valid JSON", ErrorCode.BAD_REQUEST) from None
    if not isinstance(payload, dict):
        raise PermanentError(f"{what} is not a JSON object", ErrorCode.BAD_REQUEST)
    return payload


def field(data: dict[str, Any], name: str, where: str = "") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise PermanentError(f"missing or invalid field {where}{name}", ErrorCode.BAD_REQUEST)
    return value


def strip_bot_mentions(text: str, bot_users: set[str]) -> str:
    for user in bot_users:
        text = re.sub(rf"<@{re.escape(user)}(?:\|[^>]*)?>", "", text)
    if not bot_users:  # bot unknown: the leading mention is the one that addressed us
        text = _LEADING_MENTION.sub("", text)
    return " ".join(text.split())


def _kind(event: dict[str, Any], bots: set[str]) -> RequestKind | None:
    if event.get("type") == "app_mention":
        return RequestKind.MENTION
    if event.get("type") != "message":
        return None
    if event.get("channel_type") == "im":
        return RequestKind.DM
    if _in_thread(event) and not _mentions(str(event.get("text") or ""), bots):
        # A reply in a thread; one that mentions the bot also arrives as app_mention.
        return RequestKind.THREAD_REPLY
    return None


def _in_thread(event: dict[str, Any]) -> bool:
    thread_ts = event.get("thread_ts")
    return isinstance(thread_ts, str) and bool(thread_ts) and thread_ts != event.get("ts")


def _mentions(text: str, bots: set[str]) -> bool:
    if not bots:
        return bool(_LEADING_MENTION.search(text))
    return any(re.search(rf"<@{re.escape(user)}(?:\|[^>]*)?>", text) for user in bots)


def _bot_users(payload: dict[str, Any]) -> set[str]:
    auths = payload.get("authorizations") or []
    return {a["user_id"] for a in auths if isinstance(a, dict) and a.get("user_id")}


def team_of(payload: dict[str, Any]) -> str:
    auths = [a for a in payload.get("authorizations") or [] if isinstance(a, dict)]
    team = payload.get("team_id") or (auths[0].get("team_id") if auths else None)
    if not isinstance(team, str) or not team:
        raise PermanentError("missing or invalid field team_id", ErrorCode.BAD_REQUEST)
    return subjects.token(team)


def from_event_callback(payload: dict[str, Any]) -> TriageRequest | Ignored:
    event = payload.get("event")
    if not isinstance(event, dict):
        raise PermanentError("missing or invalid field event", ErrorCode.BAD_REQUEST)
    event_id, team = field(payload, "event_id"), team_of(payload)
    bots = _bot_users(payload)
    kind = _kind(event, bots)
    if kind is None:
        return Ignored(f"unhandled event type {event.get('type')!r}")
    # Never answer bots (including ourselves) or edits/joins/deletions: no reply loops.
    if event.get("bot_id") or event.get("subtype"):
        return Ignored("bot message or message subtype")
    user = field(event, "user", "event.")
    if user in bots:
        return Ignored("the bot's own message")
    return TriageRequest(
        team_id=team, run_id=stable_id("run-", team, event_id), request_kind=kind,
        event_id=event_id, channel_id=field(event, "channel", "event."), user_id=user,
        text=strip_bot_mentions(str(event.get("text") or ""), bots),
        thread_ts=event.get("thread_ts") or field(event, "ts", "event."),
        in_thread=_in_thread(event), enterprise_id=payload.get("enterprise_id") or None,
    )


def from_command(form: dict[str, str], fallback_trigger: str) -> TriageRequest | None:
    """A `/triage <text>` request; None when the text is empty (the caller shows help)."""
    team = subjects.token(field(form, "team_id"))
    user, channel = field(form, "user_id"), field(form, "channel_id")
    text = " ".join(form.get("text", "").split())
    if not text:
        return None
    # Slack does not retry slash commands, but a trigger id makes a replay map to one run.
    event_id = stable_id("cmd-", team, form.get("trigger_id") or fallback_trigger)
    return TriageRequest(
        team_id=team, run_id=stable_id("run-", team, event_id),
        request_kind=RequestKind.COMMAND, event_id=event_id, channel_id=channel,
        user_id=user, text=text, thread_ts=None, enterprise_id=form.get("enterprise_id") or None,
        response_url=form.get("response_url") or None,
    )
