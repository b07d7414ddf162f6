"""Property-based fuzzing of the Slack endpoints, signed as Slack signs them (so every
request reaches the parsing and routing code, not only the signature check): whatever the
body, the edge answers 2xx or 4xx with a reason, never 5xx, and stays up."""

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import SIGNING_SECRET, Ingress

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=40))
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20)
SLACK_KEYS = ["type", "team_id", "event_id", "event", "authorizations", "challenge", "user",
              "channel", "text", "ts", "thread_ts", "channel_type", "bot_id", "subtype",
              "enterprise_id", "api_app_id", "actions", "view", "trigger_id", "response_url"]
SHAPED = st.recursive(
    st.dictionaries(st.sampled_from(SLACK_KEYS), JSON_LEAF, max_size=8),
    lambda inner: st.dictionaries(st.sampled_from(SLACK_KEYS),
                                  st.one_of(JSON_LEAF, inner, st.lists(inner, max_size=3)),
                                  max_size=8),
    max_leaves=25)
EVENT_TYPES = st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "x"])
INNER_TYPES = st.sampled_from(["app_mention", "message", "reaction_added", ""])
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def event_payload(shaped: dict[str, Any], kind: str, inner: str) -> dict[str, Any]:
    payload = dict(shaped)
    payload.setdefault("type", kind)
    event = payload.get("event")
    if isinstance(event, dict):
        event.setdefault("type", inner)
    return payload


def signed(body: bytes, content_type: str) -> dict[str, str]:
    """Slack's v0 signature over raw bytes (slack-sdk's helper only signs text)."""
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body,
                      hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}"}


async def assert_not_5xx(ingress: Ingress, path: str, body: bytes, content_type: str) -> None:
    resp = await ingress.http.post(path, content=body, headers=signed(body, content_type))
    assert resp.status_code < 500, (path, body[:300], resp.status_code, resp.text)
    if resp.status_code >= 400:
        assert resp.json().get("reason"), resp.text  # a refusal always says why


@FUZZ
@given(shaped=SHAPED, kind=EVENT_TYPES, inner=INNER_TYPES)
async def test_events_never_fail_with_5xx(ingress: Ingress, shaped: dict[str, Any], kind: str,
                                          inner: str) -> None:
    body = json.dumps(event_payload(shaped, kind, inner)).encode()
    await assert_not_5xx(ingress, "/slack/events", body, "application/json")


@FUZZ
@given(raw=st.binary(max_size=300))
async def test_arbitrary_bytes_never_fail_with_5xx(ingress: Ingress, raw: bytes) -> None:
    for path, content_type in (("/slack/events", "application/json"),
                               ("/slack/commands", "application/x-www-form-urlencoded"),
                               ("/slack/interactivity", "application/x-www-form-urlencoded")):
        await assert_not_5xx(ingress, path, raw, content_type)


@FUZZ
@given(form=st.dictionaries(st.sampled_from(["team_id", "user_id", "channel_id", "text",
                                             "trigger_id", "command", "enterprise_id"]),
                            st.text(max_size=60), max_size=7))
async def test_slash_commands_never_fail_with_5xx(ingress: Ingress, form: dict[str, str]) -> None:
    body = urlencode(form).encode()
    await assert_not_5xx(ingress, "/slack/commands", body, "application/x-www-form-urlencoded")


@FUZZ
@given(payload=st.one_of(JSON, SHAPED), kind=st.sampled_from(
    ["block_actions", "view_submission", "shortcut", ""]))
async def test_interactions_never_fail_with_5xx(ingress: Ingress, payload: Any,
                                                kind: str) -> None:
    if isinstance(payload, dict):
        payload = {**payload, "type": kind}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    await assert_not_5xx(ingress, "/slack/interactivity", body,
                         "application/x-www-form-urlencoded")
