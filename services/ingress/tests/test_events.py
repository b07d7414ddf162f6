"""`POST /slack/events` end to end: signed HTTP in, TriageRequest in the real EVENTS stream."""

import json
import time
from typing import Any

import pytest
from triage_contracts.ids import stable_id
from triage_contracts.messages import AuditEvent, AuditKind, RequestKind, TriageRequest

TEAM = "T0TEST"
BOT = "UBOT"


def callback(event: dict[str, Any], event_id: str = "Ev0001") -> dict[str, Any]:
    return {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": BOT, "is_bot": True}]}


def mention(text: str = f"<@{BOT}> why is checkout-api failing?", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": "U_REQUESTER", "text": text,
            "ts": "1732540000.000100", "channel": "C_TRIAGE", "event_ts": "1732540000.000100",
            **extra}


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


async def test_url_verification_echoes_challenge(ingress) -> None:
    resp = await ingress.post("/slack/events", body({"type": "url_verification",
                                                     "token": "legacy", "challenge": "c-123"}))
    assert resp.status_code == 200
    assert resp.json() == {"challenge": "c-123"}


async def test_app_mention_enqueues_exactly_one_request(ingress) -> None:
    resp = await ingress.post("/slack/events", body(callback(mention())))
    assert resp.status_code == 200, resp.text
    [msg] = await ingress.stream("EVENTS")
    req = TriageRequest.model_validate_json(msg.data)
    assert msg.subject == f"triage.event.{TEAM}.mention"
    assert msg.headers["Nats-Msg-Id"] == "Ev0001"
    assert req.request_kind is RequestKind.MENTION
    assert req.run_id == stable_id("run-", TEAM, "Ev0001")
    assert (req.team_id, req.event_id, req.channel_id, req.user_id) == (
        TEAM, "Ev0001", "C_TRIAGE", "U_REQUESTER")
    assert req.text == "why is checkout-api failing?"
    assert req.thread_ts == "1732540000.000100"  # answer in a thread under the question
    [audit] = await ingress.stream("AUDIT")
    event = AuditEvent.model_validate_json(audit.data)
    assert (event.audit_kind, event.service, event.run_id) == (
        AuditKind.REQUEST, "ingress", req.run_id)


async def test_mention_inside_a_thread_answers_in_that_thread(ingress) -> None:
    event = mention(ts="1732540100.000200", thread_ts="1732540000.000100")
    assert (await ingress.post("/slack/events", body(callback(event)))).status_code == 200
    [msg] = await ingress.stream("EVENTS")
    assert TriageRequest.model_validate_json(msg.data).thread_ts == "1732540000.000100"


async def test_direct_message_is_a_dm_request(ingress) -> None:
    event = {"type": "message", "channel_type": "im", "user": "U_REQUESTER", "text": "help?",
             "ts": "1732540000.000300", "channel": "D123"}
    assert (await ingress.post("/slack/events", body(callback(event, "EvDM")))).status_code == 200
    [msg] = await ingress.stream("EVENTS")
    req = TriageRequest.model_validate_json(msg.data)
    assert msg.subject == f"triage.event.{TEAM}.dm"
    assert (req.request_kind, req.channel_id, req.text) == (RequestKind.DM, "D123", "help?")


async def test_slack_retry_never_creates_a_second_message(ingress) -> None:
    payload = body(callback(mention()))
    first = await ingress.post("/slack/events", payload)
    retries = [await ingress.post("/slack/events", payload, headers={
        "X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"}) for n in (1, 2, 3)]
    assert [r.status_code for r in (first, *retries)] == [200, 200, 200, 200]
    assert len(await ingress.stream("EVENTS")) == 1
    assert len(await ingress.stream("AUDIT")) == 1


@pytest.mark.parametrize("event", [
    mention(bot_id="B999"),                                    # another bot (or us) speaking
    mention(subtype="message_changed"),                        # edits, joins, deletions
    mention(user=BOT),                                         # the bot itself
    {"type": "message", "channel_type": "im", "user": "U1", "text": "x", "ts": "1.1",
     "channel": "D1", "bot_id": "B1"},
    {"type": "message", "channel_type": "channel", "user": "U1", "text": "x", "ts": "1.1",
     "channel": "C1"},                                         # plain channel chatter
    {"type": "reaction_added", "user": "U1", "reaction": "eyes"},  # unknown event type
], ids=["bot_id", "subtype", "self", "dm_from_bot", "channel_message", "unknown_type"])
async def test_ignored_events_answer_200_and_enqueue_nothing(ingress, event) -> None:
    resp = await ingress.post("/slack/events", body(callback(event)))
    assert resp.status_code == 200
    assert "ignored" in resp.json()
    assert await ingress.stream("EVENTS") == []


async def test_other_callback_types_are_ignored(ingress) -> None:
    resp = await ingress.post("/slack/events", body({"type": "app_rate_limited", "team_id": TEAM}))
    assert resp.status_code == 200
    assert await ingress.stream("EVENTS") == []


@pytest.mark.parametrize("headers,sign", [
    ({}, {"secret": "some-other-secret"}),
    ({"X-Slack-Signature": "v0=" + "0" * 64}, {}),
    ({"X-Slack-Signature": ""}, {}),
    ({"X-Slack-Request-Timestamp": "not-a-number"}, {}),
], ids=["wrong_secret", "forged", "missing_signature", "bad_timestamp"])
async def test_unverified_requests_are_401(ingress, headers, sign) -> None:
    resp = await ingress.post("/slack/events", body(callback(mention())), headers=headers, **sign)
    assert resp.status_code == 401
    assert resp.json()["reason"]
    assert await ingress.stream("EVENTS") == []


async def test_tampered_body_is_401(ingress) -> None:
    signed = body(callback(mention()))
    tampered = signed.replace(b"checkout-api", b"payments-api")
    resp = await ingress.http.post("/slack/events", content=tampered,
                                   headers=ingress.signed(signed))
    assert resp.status_code == 401
    assert await ingress.stream("EVENTS") == []


# A minute beyond the window: +301 s became 300 s when the loaded machine took over a second
# between signing and checking, and the request was (rightly) accepted.
@pytest.mark.parametrize("offset", [-360, 360], ids=["stale", "future"])
async def test_timestamps_outside_five_minutes_are_401(ingress, offset) -> None:
    resp = await ingress.post("/slack/events", body(callback(mention())),
                              timestamp=int(time.time()) + offset)
    assert resp.status_code == 401
    assert "window" in resp.json()["reason"]


@pytest.mark.parametrize("payload,reason", [
    (b"{not json", "JSON"),
    (b"[1, 2]", "JSON object"),
    (body({"type": "event_callback", "team_id": TEAM, "event_id": "Ev1"}), "event"),
    (body({**callback(mention()), "event_id": None}), "event_id"),
    (body(callback({"type": "app_mention", "user": "U1", "text": "x", "ts": "1.1"})), "channel"),
    (body({"type": "url_verification"}), "challenge"),
])
async def test_malformed_payloads_are_400_with_a_reason(ingress, payload, reason) -> None:
    resp = await ingress.post("/slack/events", payload)
    assert resp.status_code == 400
    assert reason in resp.json()["reason"]
    assert await ingress.stream("EVENTS") == []


async def test_body_over_one_mebibyte_is_413(ingress) -> None:
    big = b'{"type": "event_callback", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    big = big[: 1024 * 1024 + 1]
    resp = await ingress.post("/slack/events", big)
    assert resp.status_code == 413


async def test_chunked_body_over_the_cap_is_413(ingress) -> None:
    """No Content-Length to trust: the stream is cut at MAX + 1 bytes."""

    async def chunks():
        for _ in range(17):
            yield b"x" * 65536  # 17 * 64 KiB > 1 MiB

    resp = await ingress.http.post("/slack/events", content=chunks(), headers=ingress.signed(b""))
    assert resp.status_code == 413
