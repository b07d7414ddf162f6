"""Talking to the running stack the way Slack and people do."""

import time
from typing import Any

import httpx
from triage_sandbox.plan import SANDBOX_TEAM
from triage_sandbox.slack_events import app_mention, event_body, signed_headers
from triage_sandbox.stack import Stack


def mention(stack: Stack, text: str, user: str = "U_REQUESTER", **kw: Any) -> dict[str, Any]:
    payload = app_mention(SANDBOX_TEAM, "C_TRIAGE", user, text, **kw)
    resp = post_event(stack, payload)
    assert resp.status_code == 200, resp.text
    return payload


def post_event(stack: Stack, payload: dict[str, Any], **headers: str) -> httpx.Response:
    body = event_body(payload)
    all_headers = signed_headers(stack.plan.signing_secret, body, "application/json")
    all_headers.update(headers)
    return httpx.post(stack.plan.process("ingress").url + "/slack/events", content=body,
                      headers=all_headers, timeout=10)


def thread_messages(stack: Stack, thread_ts: str) -> list[dict[str, Any]]:
    url = stack.plan.process("slack").url + "/sandbox/messages"
    return [m for m in httpx.get(url, timeout=5).json() if m.get("thread_ts") == thread_ts]


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def settle(seconds: float = 2.0) -> None:
    """Give a wrongly-duplicated message the time to show up before asserting 'exactly one'."""
    time.sleep(seconds)
