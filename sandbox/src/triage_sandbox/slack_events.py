"""Requests exactly as Slack sends them: Events API and slash-command payloads, signed with
the app's signing secret. Used by `triage-dev ask`, the sandbox channel page and the tests."""

import json
import time
import uuid
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

BOT_USER_ID = "UBOT"
APP_ID = "ASANDBOX"


def signed_headers(secret: str, body: bytes, content_type: str, timestamp: int | None = None,
                   ) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }


def new_ts() -> str:
    return f"{time.time():.6f}"


def app_mention(team_id: str, channel: str, user: str, text: str, ts: str | None = None,
                thread_ts: str | None = None, event_id: str | None = None) -> dict[str, object]:
    ts = ts or new_ts()
    event: dict[str, object] = {
        "type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
        "channel": channel, "event_ts": ts, "team": team_id,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return _callback(team_id, event, event_id)


def direct_message(team_id: str, channel: str, user: str, text: str, ts: str | None = None,
                   event_id: str | None = None) -> dict[str, object]:
    ts = ts or new_ts()
    event: dict[str, object] = {
        "type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
        "channel": channel, "event_ts": ts, "team": team_id}
    return _callback(team_id, event, event_id)


def thread_reply(team_id: str, channel: str, user: str, text: str, thread_ts: str,
                 ts: str | None = None, event_id: str | None = None) -> dict[str, object]:
    """A plain message in a thread (no mention), as the `message.channels` event sends it."""
    ts = ts or new_ts()
    event: dict[str, object] = {
        "type": "message", "channel_type": "channel", "user": user, "text": text, "ts": ts,
        "thread_ts": thread_ts, "channel": channel, "event_ts": ts, "team": team_id}
    return _callback(team_id, event, event_id)


def _callback(team_id: str, event: dict[str, object], event_id: str | None) -> dict[str, object]:
    return {
        "token": "deprecated-verification-token", "team_id": team_id, "api_app_id": APP_ID,
        "event": event, "type": "event_callback",
        "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def event_body(payload: dict[str, object]) -> bytes:
    return json.dumps(payload).encode()


def slash_command_body(team_id: str, channel: str, user: str, text: str,
                       trigger_id: str | None = None, response_url: str | None = None) -> bytes:
    return urlencode({
        "token": "deprecated-verification-token", "team_id": team_id, "team_domain": "sandbox",
        "channel_id": channel, "channel_name": "triage", "user_id": user, "user_name": user.lower(),
        "command": "/triage", "text": text, "api_app_id": APP_ID,
        "response_url": response_url or "https://hooks.slack.invalid/commands/sandbox",
        "trigger_id": trigger_id or uuid.uuid4().hex,
    }).encode()
