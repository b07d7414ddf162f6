"""End to end: a signed Slack mention travels ingress → JetStream → orchestrator → tools
(GitHub, Prometheus stand-ins via PyGithub/httpx) → router (offline model) → notifier
(slack-sdk → Slack stand-in), every step in the audit chain. All real processes."""

import subprocess
import sys

import httpx
from triage_contracts.ids import stable_id
from triage_sandbox.plan import SANDBOX_TEAM
from triage_sandbox.stack import Stack

from .helpers import mention, settle, thread_messages, wait_for


def github(stack: Stack, path: str) -> object:
    return httpx.get(stack.plan.process("github").url + path, timeout=5).json()


def test_mention_gets_exactly_one_threaded_reply_citing_github_evidence(stack: Stack) -> None:
    payload = mention(stack, "what changed in payments-api recently?")
    thread_ts = payload["event"]["ts"]

    replies = wait_for(lambda: thread_messages(stack, thread_ts))
    settle()
    replies = thread_messages(stack, thread_ts)
    assert len(replies) == 1, replies
    latest_sha = github(stack, "/repos/demo-org/payments-api/commits")[0]["sha"]
    assert latest_sha[:7] in replies[0]["text"], replies[0]["text"]

    audit = stack.plan.process("audit").url
    run_id = stable_id("run-", SANDBOX_TEAM, payload["event_id"])
    timeline = wait_for(lambda: _timeline_complete(audit, run_id), timeout=30)
    services = {event["service"] for event in timeline}
    assert {"ingress", "orchestrator", "tools", "router"} <= services, services
    verified = httpx.get(f"{audit}/audit/{SANDBOX_TEAM}/verify", timeout=5).json()
    assert verified["ok"] is True and verified["count"] >= len(timeline)

    cli = subprocess.run(
        [sys.executable, "-m", "triage_audit", "verify", "--team", SANDBOX_TEAM],
        env={"DATABASE_URL": stack.plan.process("audit").env["DATABASE_URL"], "PATH": ""},
        capture_output=True, text=True, timeout=60,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr


def _timeline_complete(audit: str, run_id: str) -> list[dict[str, object]] | None:
    resp = httpx.get(f"{audit}/audit/{SANDBOX_TEAM}/events", params={"run_id": run_id},
                     timeout=5)
    events = resp.json() if resp.status_code == 200 else []
    if isinstance(events, dict):
        events = events.get("events", [])
    kinds = {e["kind"] if "kind" in e else e.get("audit_kind") for e in events}
    return events if "notify" in kinds else None


def test_a_retried_slack_event_starts_no_second_run(stack: Stack) -> None:
    from .helpers import post_event

    payload = mention(stack, "what changed in payments-api recently?")
    for retry in ("1", "2"):
        resp = post_event(stack, payload, **{"X-Slack-Retry-Num": retry,
                                             "X-Slack-Retry-Reason": "http_timeout"})
        assert resp.status_code == 200
    thread_ts = payload["event"]["ts"]
    wait_for(lambda: thread_messages(stack, thread_ts))
    settle(3)
    assert len(thread_messages(stack, thread_ts)) == 1
