"""The notifier against the Slack stand-in on real uvicorn, through the real slack-sdk
client and the real NATS work queue: one message per run step, whatever happens."""

import json
import time
from typing import Any

import httpx
import pytest
from nats.js.errors import KeyNotFoundError
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts import subjects
from triage_contracts.bus import publish
from triage_contracts.ids import new_id
from triage_contracts.messages import AuditEvent, AuditKind, NotifyRequest, NotifyResult
from triage_contracts.streams import Buckets
from triage_ingress.notifier import record_key
from triage_sandbox.slack_api import FaultSpec

TEAM = "T0TEST"
THREAD = "1732540000.000100"


def request(step: str = "reply-1", **fields: Any) -> NotifyRequest:
    values = {"team_id": TEAM, "run_id": "run-abc", "step_id": step, "channel_id": "C_TRIAGE",
              "thread_ts": THREAD, "text": "checkout-api: commit 1a2b broke CI", **fields}
    return NotifyRequest(**values)


@pytest.fixture
async def notifier(start_ingress, slack_api):
    return await start_ingress(role="notifier", slack_api_url=slack_api.api_url)


async def send(app, req: NotifyRequest) -> None:
    """Enqueue as the orchestrator would; a fresh msg id models a redelivered command."""
    await publish(app.admin, req, subjects.work("notify", TEAM, "reply"),
                  msg_id=new_id())


async def results(app) -> list[NotifyResult]:
    return [NotifyResult.model_validate_json(m.data) for m in await app.stream("RESULTS")]


async def drained(app) -> bool:
    """Every notify command consumed and acknowledged."""
    info = await app.js.consumer_info("WORK", "notifier")
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_reply_is_posted_once_in_the_thread(notifier, slack_api, wait_until) -> None:
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    [message] = slack_api.state.messages
    assert result.ok and result.ts == message["ts"] and result.channel_id == "C_TRIAGE"
    assert (message["thread_ts"], message["text"]) == (THREAD, request().text)
    assert message["metadata"] == {"event_type": "triage_message",
                                   "event_payload": {"run_id": "run-abc", "step_id": "reply-1"}}
    [post] = slack_api.posts()
    assert post["args"]["unfurl_links"] is False and post["args"]["unfurl_media"] is False
    audits = [AuditEvent.model_validate_json(m.data) for m in await notifier.stream("AUDIT")]
    assert [(a.audit_kind, a.outcome, a.detail["ts"]) for a in audits] == [
        (AuditKind.NOTIFY, "ok", message["ts"])]


async def test_redelivered_step_is_not_posted_again(notifier, slack_api, wait_until) -> None:
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    await send(notifier, request())
    await wait_until(lambda: drained(notifier))
    assert len(slack_api.state.messages) == 1 and len(slack_api.posts()) == 1
    assert len(await results(notifier)) == 1  # same result msg id: deduplicated


async def test_interrupted_post_is_found_instead_of_repeated(notifier, slack_api, wait_until):
    """A crash after Slack posted but before the record said so: the claim is `pending`
    and the message exists (with this step's metadata) — it must be reused."""
    req = request()
    kv = await notifier.js.key_value(Buckets.IDEMPOTENCY.name)
    await kv.create(record_key(req), b"pending")
    earlier = await AsyncWebClient(token=slack_api.token, base_url=slack_api.api_url)\
        .chat_postMessage(channel="C_TRIAGE", thread_ts=THREAD, text=req.text, metadata={
            "event_type": "triage_message",
            "event_payload": {"run_id": req.run_id, "step_id": req.step_id}})
    await send(notifier, req)
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    assert result.ok and result.ts == earlier["ts"]
    assert len(slack_api.state.messages) == 1 and len(slack_api.posts()) == 1
    assert any(c["method"] == "conversations.replies" for c in slack_api.state.calls)
    assert b"pending" != (await kv.get(record_key(req))).value


async def test_pending_claim_without_a_message_posts_once(notifier, slack_api, wait_until):
    req = request()
    kv = await notifier.js.key_value(Buckets.IDEMPOTENCY.name)
    await kv.create(record_key(req), b"pending")  # crashed before Slack answered
    await send(notifier, req)
    await wait_until(lambda: _count(notifier, 1))
    assert (await results(notifier))[0].ok
    assert len(slack_api.state.messages) == 1 and len(slack_api.posts()) == 1


async def test_a_redelivery_while_the_first_post_is_in_flight_does_not_post_again(
    notifier, start_ingress, slack_api, wait_until
) -> None:
    """Slack takes 4 s to answer and the command comes again meanwhile (a redelivery: a
    worker frozen past its AckWait, a message parked behind busy slots), to a second
    notifier replica. That copy finds a fresh `pending` claim and no message yet; it must
    wait for the claim to resolve, not post a second message."""
    await start_ingress(role="notifier", slack_api_url=slack_api.api_url)  # the replica
    slack_api.state.faults.append(
        FaultSpec(method="chat.postMessage", error=None, delay_s=4.0))
    await send(notifier, request())
    await wait_until(lambda: _posting(slack_api), within=20)
    await send(notifier, request())  # the same step again, while its post is in flight
    await wait_until(lambda: _count(notifier, 1), within=20)
    await wait_until(lambda: _handled_twice(notifier), within=30)
    await wait_until(lambda: _answered(slack_api), within=20)  # the slow post too
    assert len(slack_api.state.messages) == 1 and len(slack_api.posts()) == 1
    found = await results(notifier)  # the copy may report the same message, never another
    assert found and all(r.ok and r.ts == slack_api.state.messages[0]["ts"] for r in found)


async def _handled_twice(app) -> bool:
    info = await app.js.consumer_info("WORK", "notifier")
    return info.delivered.consumer_seq >= 2


async def test_a_claim_left_by_a_dead_notifier_is_taken_over_once_stale(
    start_ingress, slack_api, wait_until
) -> None:
    app = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                              notify_claim_stale_s=3.0)
    req = request()
    kv = await app.js.key_value(Buckets.IDEMPOTENCY.name)
    claim = {"state": "pending", "claimed_at": time.time()}  # then the notifier died
    await kv.create(record_key(req), json.dumps(claim).encode())
    started = time.monotonic()
    await send(app, req)
    await wait_until(lambda: _count(app, 1), within=20)
    assert time.monotonic() - started >= 2.5  # it waited for the claim to go stale
    assert (await results(app))[0].ok
    assert len(slack_api.state.messages) == 1 and len(slack_api.posts()) == 1


async def test_update_ts_edits_the_message(notifier, slack_api, wait_until) -> None:
    await send(notifier, request(text="Looking into it…"))
    await wait_until(lambda: _count(notifier, 1))
    first = (await results(notifier))[0]
    await send(notifier, request("final-1", text="Root cause: commit 1a2b", update_ts=first.ts))
    await wait_until(lambda: _count(notifier, 2))
    second = (await results(notifier))[1]
    [message] = slack_api.state.messages
    assert second.ok and second.ts == first.ts
    assert message["text"] == "Root cause: commit 1a2b"
    assert [e["text"] for e in message["edits"]] == ["Looking into it…"]


async def test_ratelimited_once_is_retried_and_posted_once(notifier, slack_api, wait_until):
    async with httpx.AsyncClient(base_url=slack_api.url) as http:
        await http.post("/sandbox/faults", json={"method": "chat.postMessage",
                                                 "error": "ratelimited", "times": 1})
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    assert (await results(notifier))[0].ok
    assert [c["result"] for c in slack_api.posts()] == ["ratelimited", "ok"]
    assert len(slack_api.state.messages) == 1


async def test_slack_5xx_is_retried_by_redelivery_and_posted_once(notifier, slack_api, wait_until):
    slack_api.state.faults.append(
        FaultSpec(method="chat.postMessage", error="internal_error", times=1, status=500))
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1), within=20)
    assert (await results(notifier))[0].ok
    assert [c["result"] for c in slack_api.posts()] == ["internal_error", "ok"]
    assert len(slack_api.state.messages) == 1


async def test_invalid_token_is_reported_to_the_run(start_ingress, slack_api, wait_until):
    app = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                              slack_bot_token="xoxb-revoked-0000000000")
    req = request()
    await send(app, req)
    await wait_until(lambda: _count(app, 1))
    [result] = await results(app)
    assert (result.ok, result.error, result.ts) == (False, "invalid_auth", None)
    assert slack_api.state.messages == []
    [audit] = [AuditEvent.model_validate_json(m.data) for m in await app.stream("AUDIT")]
    assert (audit.audit_kind, audit.outcome, audit.detail["error"]) == (
        AuditKind.NOTIFY, "error", "invalid_auth")
    kv = await app.js.key_value(Buckets.IDEMPOTENCY.name)
    with pytest.raises(KeyNotFoundError):
        await kv.get(record_key(req))  # claim released: nothing was posted


async def test_missing_bot_token_is_reported_not_swallowed(start_ingress, wait_until) -> None:
    app = await start_ingress(role="notifier", slack_bot_token=None)
    await send(app, request())
    await wait_until(lambda: _count(app, 1))
    [result] = await results(app)
    assert (result.ok, result.error) == (False, "slack_bot_token_not_configured")


async def _posting(slack_api) -> bool:
    return bool(slack_api.posts())


async def _answered(slack_api) -> bool:
    return all("result" in c for c in slack_api.posts())


async def _count(app, n: int) -> bool:
    return len(await app.stream("RESULTS")) >= n



# --- where the bot is not a member: a slash command's response_url -----------------------


async def command_in(start_ingress, slack_api, channel: str) -> tuple[Any, str, str]:
    """A notifier that may answer through Slack's response_urls, and one such URL for a
    /triage typed in `channel`: (notifier, url, its slot)."""
    notifier = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                                   slack_response_url_prefix=f"{slack_api.url}/sandbox/response/")
    slot = slack_api.state.open_response_slot("U_REQUESTER", channel, "", None)
    return notifier, f"{slack_api.url}/sandbox/response/{slot}", slot


async def test_a_command_in_a_channel_the_bot_is_not_in_is_answered_via_its_response_url(
        start_ingress, slack_api, wait_until) -> None:
    notifier, url, slot = await command_in(start_ingress, slack_api, "C_PRIVATE")
    await send(notifier, request(channel_id="C_PRIVATE", thread_ts=None, response_url=url))
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    assert (result.ok, result.ts, result.error) == (True, None, None)
    [post] = slack_api.posts()  # Slack said not_in_channel first
    assert post["args"]["channel"] == "C_PRIVATE"
    [message] = slack_api.state.messages  # then the response_url answer, seen by everyone
    assert (message["channel"], message["ephemeral_to"]) == ("C_PRIVATE", None)
    assert message["text"] == request().text
    await send(notifier, request(channel_id="C_PRIVATE", thread_ts=None, response_url=url))
    await wait_until(lambda: drained(notifier))
    assert len(slack_api.state.responses) == 1  # a redelivery answers nothing twice
    audits = [AuditEvent.model_validate_json(m.data) for m in await notifier.stream("AUDIT")]
    assert slot not in "".join(a.model_dump_json() for a in audits)  # a bearer capability


@pytest.mark.parametrize("public_scope", [False, True])
async def test_a_public_channel_the_bot_is_not_in_is_answered_in_it_with_chat_write_public(
        start_ingress, slack_api, wait_until, public_scope: bool) -> None:
    """With `chat:write.public` (manifest --public-channels) the answer is a real message in
    the channel, threadable and editable; without it, the command's response_url."""
    if public_scope:
        slack_api.state.bot_scopes.add("chat:write.public")
    notifier, url, _ = await command_in(start_ingress, slack_api, "C_OPEN")
    await send(notifier, request(channel_id="C_OPEN", thread_ts=None, response_url=url))
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    assert result.ok
    [message] = slack_api.state.messages
    assert message["channel"] == "C_OPEN" and message["text"] == request().text
    if public_scope:
        assert result.ts == message["ts"] and slack_api.state.responses == []
    else:
        assert result.ts is None and len(slack_api.state.responses) == 1


@pytest.mark.parametrize("response_url", [
    None,  # a mention: nothing else to try
    "https://attacker.example/collect",  # not under the configured Slack prefix
])
async def test_not_in_channel_without_a_usable_response_url_is_reported(
        notifier, slack_api, wait_until, response_url: str | None) -> None:
    await send(notifier, request(channel_id="C_PRIVATE", thread_ts=None,
                                 response_url=response_url))
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    assert (result.ok, result.error) == (False, "not_in_channel")
    assert slack_api.state.responses == [] and slack_api.state.messages == []


async def test_a_response_url_slack_refuses_is_reported_with_both_reasons(
        start_ingress, slack_api, wait_until) -> None:
    notifier = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                                   slack_response_url_prefix=f"{slack_api.url}/sandbox/response/")
    expired = f"{slack_api.url}/sandbox/response/never-issued"
    await send(notifier, request(channel_id="C_PRIVATE", thread_ts=None, response_url=expired))
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    assert not result.ok and result.error is not None
    assert result.error.startswith("not_in_channel; the command's response_url refused it")


async def test_a_status_is_shown_in_the_thread_and_never_answered(notifier, slack_api,
                                                                  wait_until) -> None:
    status = request("investigate-t1-status", notify_kind="status", text="Reading CI runs…")
    await send(notifier, status)
    await wait_until(lambda: drained(notifier))
    assert slack_api.state.statuses == {("C_TRIAGE", THREAD): "Reading CI runs…"}
    assert await results(notifier) == []  # the run does not wait for it
    assert slack_api.posts() == [] and await notifier.stream("AUDIT") == []
    await send(notifier, request())  # the answer replaces the status, as in Slack
    await wait_until(lambda: _count(notifier, 1))
    assert slack_api.state.statuses == {}


async def test_a_status_slack_refuses_changes_nothing(notifier, slack_api, wait_until) -> None:
    await send(notifier, request("s", notify_kind="status", text="Reading…",
                                 channel_id="C_PRIVATE"))
    await wait_until(lambda: drained(notifier))
    assert await results(notifier) == [] and slack_api.state.statuses == {}
