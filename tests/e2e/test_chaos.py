"""The orchestrator SIGKILLed mid-run resumes the run after a restart, with exactly one
reply; bad input never enqueues anything nor takes a service down."""

import asyncio
import time

import httpx
import nats
from triage_contracts.ids import stable_id
from triage_sandbox.plan import SANDBOX_TEAM
from triage_sandbox.slack_events import app_mention, event_body, signed_headers
from triage_sandbox.stack import Stack

from .helpers import mention, post_event, settle, thread_messages, wait_for


def run_state(stack: Stack, run_id: str) -> dict[str, object] | None:
    url = f"{stack.plan.process('orchestrator').url}/runs/{SANDBOX_TEAM}/{run_id}"
    try:
        resp = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return resp.json() if resp.status_code == 200 else None


def test_orchestrator_killed_mid_run_resumes_with_one_reply(stack: Stack) -> None:
    stack.kill("router")  # the run will wait at its first model call (classify)
    payload = mention(stack, "what changed in payments-api recently?")
    run_id = stable_id("run-", SANDBOX_TEAM, payload["event_id"])
    wait_for(lambda: "classify" in (run_state(stack, run_id) or {}).get("pending", {}))

    stack.kill("orchestrator")  # SIGKILL: no chance to clean up
    stack.spawn("orchestrator")
    stack.wait_ready("orchestrator")
    stack.spawn("router")
    stack.wait_ready("router")

    thread_ts = payload["event"]["ts"]
    wait_for(lambda: thread_messages(stack, thread_ts), timeout=90)
    settle(3)
    assert len(thread_messages(stack, thread_ts)) == 1


async def _events_in_stream(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("EVENTS")
        return int(info.state.messages)
    finally:
        await nc.close()


def test_bad_input_is_refused_and_enqueues_nothing(stack: Stack) -> None:
    ingress = stack.plan.process("ingress").url + "/slack/events"
    good = event_body(app_mention(SANDBOX_TEAM, "C1", "U1", "hello"))
    secret = stack.plan.signing_secret

    bad_sig = signed_headers("wrong-secret", good, "application/json")
    assert httpx.post(ingress, content=good, headers=bad_sig).status_code == 401
    stale = signed_headers(secret, good, "application/json", timestamp=int(time.time()) - 600)
    assert httpx.post(ingress, content=good, headers=stale).status_code == 401
    malformed = b'{"type": "event_callback", "event": '
    malformed_headers = signed_headers(secret, malformed, "application/json")
    assert httpx.post(ingress, content=malformed, headers=malformed_headers).status_code == 400
    huge = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert httpx.post(ingress, content=huge,
                      headers=signed_headers(secret, huge, "application/json")).status_code == 413
    unknown = app_mention(SANDBOX_TEAM, "C1", "U1", "hi")
    unknown["event"]["type"] = "reaction_added"  # type: ignore[index]
    assert post_event(stack, unknown).status_code == 200

    settle(1)
    assert asyncio.run(_events_in_stream(stack.admin_url)) == 0
    for name in ("ingress", "orchestrator"):
        assert httpx.get(stack.plan.process(name).url + "/readyz").status_code == 200
    # and the stack still works
    payload = mention(stack, "what changed in payments-api recently?")
    wait_for(lambda: thread_messages(stack, payload["event"]["ts"]))
