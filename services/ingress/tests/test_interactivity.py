"""`POST /slack/interactivity`: the approval prompt's Approve / Reject buttons, end to end
with real parts: the ingress under uvicorn, the approval service as its own process (as
deployed), a real nats-server, and the Slack Web API stand-in (for `views.open` and as the
`response_url` receiver, reached by slack-sdk's real clients). Payloads are built in
Slack's shapes, form-encoded as `payload=<json>` and signed."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from triage_contracts import subjects
from triage_contracts.approvals import action_digest
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.ids import new_id, utcnow
from triage_contracts.messages import ApprovalRequest, AuditEvent, ProposedAction
from triage_contracts.slack_actions import REASON_BLOCK, REASON_INPUT
from triage_contracts.streams import provision
from triage_contracts.testing.grant_keys import GrantKeyPair
from triage_contracts.testing.natsserver import free_port
from triage_sandbox.channel.payloads import block_actions, form_body, view_submission

from .conftest import TEAM, Ingress, SlackStandIn, StartIngress

FORM = "application/x-www-form-urlencoded"
SERVICE_TOKEN = "svc-token-for-interactivity-tests"
REQUESTER, APPROVER, LEAD, VIEWER = "U_REQUESTER", "U_APPROVER", "U_LEAD", "U_VIEWER"
CHANNEL, THREAD = "C_TRIAGE", "1700000000.000100"


@dataclass
class Approvals:
    url: str

    def get(self, approval_id: str) -> dict[str, Any]:
        resp = read(self.url, approval_id)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]


def read(url: str, approval_id: str, team: str = TEAM) -> httpx.Response:
    """An approval as a trusted service reads it: with the token, within the team."""
    return httpx.get(f"{url}/api/approvals/{approval_id}", params={"team_id": team},
                     headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=5)


@pytest.fixture
def approval_service(nats_url: str, tmp_path: Path) -> Iterator[Approvals]:
    """`python -m triage_approval` as its own process, stopped by its process group."""
    port = free_port()
    env = {**os.environ, "NATS_URL": nats_url, "HOST": "127.0.0.1", "PORT": str(port),
           "DATABASE_URL": f"sqlite:///{tmp_path}/approval.db", "APPROVERS": f"{APPROVER},{LEAD}",
           "SERVICE_TOKEN": SERVICE_TOKEN, **GrantKeyPair.generate().signer_env(),
           "LOG_LEVEL": "WARNING", "SWEEP_INTERVAL": "0.5"}
    child = subprocess.Popen([sys.executable, "-m", "triage_approval"], env=env, cwd=tmp_path,
                             start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # generous: a loaded 2-core CI machine
        while True:
            assert child.poll() is None, f"approval service exited with {child.returncode}"
            assert time.monotonic() < deadline, "approval service not ready in 120 s"
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield Approvals(url)
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=15)


@pytest.fixture
async def pending(nats_url: str, approval_service: Approvals) -> AsyncIterator[ApprovalRequest]:
    """One pending approval, requested by Riley, published as the orchestrator does."""
    yield await request_approval(nats_url, approval_service)


async def request_approval(nats_url: str, approval_service: Approvals,
                           team: str = TEAM) -> ApprovalRequest:
    run_id = new_id("run-")
    action = ProposedAction(tool="github.comment_issue", summary="Comment on #42", arguments={
        "repo": "demo-org/checkout-api", "issue_number": 42, "body": "Root cause: abc123"})
    req = ApprovalRequest(
        team_id=team, run_id=run_id, approval_id=new_id("ap-"), requester_id=REQUESTER,
        action=action, action_digest=action_digest(action.tool, action.arguments, run_id, team),
        question="why is checkout-api failing?", channel_id=CHANNEL, thread_ts=THREAD,
        expires_at=utcnow() + timedelta(minutes=10))
    broker = build_broker(nats_url, "orchestrator-stand-in")
    await broker.connect()
    await provision(jetstream(broker))
    await publish(broker, req, subjects.approval_request(team))
    await broker.stop()
    await until(lambda: read(approval_service.url, req.approval_id, team).status_code == 200)
    return req


async def until(check: Any, within: float = 15.0) -> Any:
    """Poll `check` (sync, or async) until it holds: the click is decided in the background."""
    deadline = time.monotonic() + within
    while True:
        value = await asyncio.to_thread(check)  # sync HTTP checks must not block the loop
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def edge(start_ingress: StartIngress, slack_api: SlackStandIn,
               approval_service: Approvals) -> Ingress:
    return await start_ingress(role="edge", approval_url=approval_service.url,
                               service_token=SERVICE_TOKEN, slack_api_url=slack_api.api_url)


def prompt(req: ApprovalRequest) -> dict[str, Any]:
    """The approval prompt as the notifier posted it (the stand-in's stored shape)."""
    return {"type": "message", "channel": CHANNEL, "ts": "1700000001.000200", "user": "UBOT",
            "bot_id": "BSANDBOX", "text": "Approval needed: Comment on #42", "thread_ts": THREAD,
            "metadata": {"event_type": "triage_message",
                         "event_payload": {"run_id": req.run_id, "step_id": "approval-prompt"}},
            "blocks": [{"type": "actions", "block_id": f"approval:{req.approval_id}", "elements": [
                {"type": "button", "action_id": action, "value": req.approval_id,
                 "text": {"type": "plain_text", "text": label}}
                for action, label in (("approval_approve", "Approve"),
                                      ("approval_reject", "Reject"))]}]}


def click(slack: SlackStandIn, req: ApprovalRequest, user: str, action: str,
          trigger: str | None = None, team: str = TEAM) -> bytes:
    message = prompt(req)
    block = message["blocks"][0]
    button = next(b for b in block["elements"] if b["action_id"] == action)
    slot = slack.state.open_response_slot(user, CHANNEL, message["ts"], THREAD)
    payload = block_actions(team, user, message, button, block["block_id"],
                            trigger or slack.state.new_trigger(user),
                            f"{slack.url}/sandbox/response/{slot}")
    return form_body(payload)


def told(slack: SlackStandIn) -> list[dict[str, Any]]:
    return [r["body"] for r in slack.state.responses]


async def ingress_audit(edge: Ingress) -> list[AuditEvent]:
    return [AuditEvent.model_validate_json(m.data) for m in await edge.stream("AUDIT")
            if m.subject.endswith(".ingress")]


async def test_approver_click_records_the_decision(edge, slack_api, pending, approval_service
                                                   ) -> None:
    started = time.monotonic()
    resp = await edge.post("/slack/interactivity", click(slack_api, pending, APPROVER,
                                                         "approval_approve"), FORM)
    assert resp.status_code == 200 and resp.content == b""
    assert time.monotonic() - started < 3.0  # Slack's acknowledgement window

    decided = await until(lambda: approval_service.get(pending.approval_id)["status"]
                          == "approved")
    assert decided
    item = approval_service.get(pending.approval_id)
    assert item["decided_by"] == APPROVER
    audit = await until(lambda: ingress_audit(edge))
    assert [(e.action, e.actor, e.outcome, e.run_id) for e in audit] == [
        ("slack.approve", APPROVER, "ok", pending.run_id)]
    assert told(slack_api) == []  # nothing to explain


async def test_badly_signed_click_is_401_and_decides_nothing(edge, slack_api, pending,
                                                             approval_service) -> None:
    body = click(slack_api, pending, APPROVER, "approval_approve")
    resp = await edge.post("/slack/interactivity", body, FORM, secret="not-the-secret")
    assert resp.status_code == 401
    stale = await edge.post("/slack/interactivity", body, FORM,
                            timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    await asyncio.sleep(0.5)
    assert approval_service.get(pending.approval_id)["status"] == "pending"


@pytest.mark.parametrize("user,team,reason", [
    (REQUESTER, TEAM, "the requester cannot approve their own request"),
    (VIEWER, TEAM, f"{VIEWER} is not an approver for this workspace"),
    # A click in another workspace: the approval service answers within that team only.
    (APPROVER, "T0ELSEWHERE", "no approval {approval_id}"),
], ids=["requester", "non-approver", "other-workspace"])
async def test_refused_click_is_explained_to_the_clicker_only(
        edge, slack_api, pending, approval_service, user, team, reason) -> None:
    reason = reason.format(approval_id=pending.approval_id)
    resp = await edge.post("/slack/interactivity", click(slack_api, pending, user,
                                                         "approval_approve", team=team), FORM)
    assert resp.status_code == 200

    [answer] = await until(lambda: told(slack_api))
    assert answer == {"response_type": "ephemeral", "replace_original": False,
                      "text": f"Your approval was not recorded: {reason}."}
    [shown] = [m for m in slack_api.state.messages if m.get("ephemeral_to")]
    assert (shown["ephemeral_to"], shown["thread_ts"]) == (user, THREAD)
    assert approval_service.get(pending.approval_id)["status"] == "pending"
    [event] = await until(lambda: ingress_audit(edge))
    assert (event.action, event.actor, event.outcome) == ("slack.approve", user, "refused")
    assert event.detail["reason"] == reason


async def test_reject_asks_for_a_reason_in_a_modal(edge, slack_api, pending, approval_service
                                                   ) -> None:
    body = click(slack_api, pending, APPROVER, "approval_reject")
    assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    [opened] = await until(lambda: list(slack_api.state.views.values()))
    assert opened["user"] == APPROVER and opened["view"]["callback_id"] == "approval_reject"

    def submit(reason: str) -> bytes:
        values = {REASON_BLOCK: {REASON_INPUT: reason}}
        return form_body(view_submission(TEAM, APPROVER, opened["view"],
                                         slack_api.state.new_trigger(APPROVER), values))

    empty = await edge.post("/slack/interactivity", submit("  "), FORM)
    assert empty.json() == {"response_action": "errors", "errors": {
        REASON_BLOCK: "Your rejection was not recorded: a reason is required to reject."}}
    assert approval_service.get(pending.approval_id)["status"] == "pending"

    done = await edge.post("/slack/interactivity", submit("roll back first"), FORM)
    assert done.status_code == 200 and done.content == b""  # closes the modal
    item = approval_service.get(pending.approval_id)
    assert (item["status"], item["decided_by"], item["reason"]) == (
        "rejected", APPROVER, "roll back first")

    again = await edge.post("/slack/interactivity", submit("twice"), FORM)
    assert again.json()["errors"][REASON_BLOCK].startswith(
        f"Your rejection was not recorded: already rejected by {APPROVER}")


async def test_reject_without_a_modal_uses_the_default_reason(edge, slack_api, pending,
                                                              approval_service) -> None:
    # A trigger Slack never issued: views.open fails, so the click rejects outright.
    body = click(slack_api, pending, LEAD, "approval_reject", trigger="1.2.unknown")
    assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    await until(lambda: approval_service.get(pending.approval_id)["status"] == "rejected")
    item = approval_service.get(pending.approval_id)
    assert (item["decided_by"], item["reason"]) == (LEAD, f"Rejected from Slack by <@{LEAD}>")
    assert slack_api.state.views == {}


async def test_unreachable_approval_service_is_explained(start_ingress, slack_api, pending
                                                         ) -> None:
    edge = await start_ingress(role="edge", approval_url=f"http://127.0.0.1:{free_port()}",
                               service_token=SERVICE_TOKEN, slack_api_url=slack_api.api_url)
    body = click(slack_api, pending, APPROVER, "approval_approve")
    assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    [answer] = await until(lambda: told(slack_api))
    assert "approval service is unavailable" in answer["text"]


async def test_other_interactions_and_malformed_payloads(edge, slack_api) -> None:
    other = form_body({"type": "block_actions", "user": {"id": APPROVER}, "team": {"id": TEAM},
                       "actions": [{"action_id": "something_else", "value": "x"}]})
    assert (await edge.post("/slack/interactivity", other, FORM)).status_code == 200
    shortcut = form_body({"type": "shortcut", "callback_id": "x"})
    assert (await edge.post("/slack/interactivity", shortcut, FORM)).status_code == 200
    assert (await edge.post("/slack/interactivity", b"payload=%7Bnot-json", FORM)
            ).status_code == 400
    assert (await edge.post("/slack/interactivity", b"nothing=1", FORM)).status_code == 400
    no_user = form_body({"type": "block_actions", "actions": []})
    resp = await edge.post("/slack/interactivity", no_user, FORM)
    assert resp.status_code == 400 and "user" in resp.json()["reason"]
    assert told(slack_api) == []


async def test_the_reject_modal_opens_with_the_clicking_workspaces_own_token(
        start_ingress, slack_api, approval_service, nats_url, tmp_path) -> None:
    """An OAuth-installed workspace: its trigger ids are only good with its own token."""
    edge = await start_ingress(
        role="edge", approval_url=approval_service.url, service_token=SERVICE_TOKEN,
        slack_api_url=slack_api.api_url, slack_bot_token=None,
        slack_client_id="sandbox-client-id", slack_client_secret="sandbox-client-secret",
        slack_oauth_url=f"{slack_api.url}/sandbox/oauth/authorize",
        database_url=f"sqlite:///{tmp_path}/ingress.db")
    async with httpx.AsyncClient(follow_redirects=True, timeout=20) as browser:
        page = await browser.get(f"{edge.url}/slack/install", params={"team": "T0NEW"})
    assert page.status_code == 200, page.text
    req = await request_approval(nats_url, approval_service, team="T0NEW")
    body = click(slack_api, req, APPROVER, "approval_reject", team="T0NEW")
    assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    [opened] = await until(lambda: list(slack_api.state.views.values()))
    assert opened["view"]["callback_id"] == "approval_reject"
    [call] = [c for c in slack_api.state.calls if c["method"] == "views.open"]
    assert call["team"] == "T0NEW"  # the installed team's token, not a global one


# --- ratings under an answer ----------------------------------------------------------------


def rating_click(slack: SlackStandIn, run_id: str, user: str, action: str,
                 value: str | None = None) -> bytes:
    rating = {"type": "actions", "block_id": "feedback", "elements": [
        {"type": "button", "action_id": a, "value": value or run_id,
         "text": {"type": "plain_text", "text": a}} for a in ("feedback_good", "feedback_bad")]}
    message = {"type": "message", "channel": CHANNEL, "ts": "1700000002.000300", "user": "UBOT",
               "bot_id": "BSANDBOX", "text": "the answer", "thread_ts": THREAD,
               "blocks": [rating]}
    button = next(b for b in rating["elements"] if b["action_id"] == action)
    slot = slack.state.open_response_slot(user, CHANNEL, message["ts"], THREAD)
    return form_body(block_actions(TEAM, user, message, button, "feedback",
                                   slack.state.new_trigger(user),
                                   f"{slack.url}/sandbox/response/{slot}"))


async def test_a_rating_is_audited_with_its_run_once_and_the_rater_thanked(
        start_ingress, slack_api) -> None:
    edge = await start_ingress(role="edge", slack_api_url=slack_api.api_url)
    run_id = new_id("run-")
    for _ in range(2):  # a double click counts once
        body = rating_click(slack_api, run_id, VIEWER, "feedback_bad")
        assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    await until(lambda: len(told(slack_api)) == 2)
    audit = await until(lambda: ingress_audit(edge))
    assert [(e.audit_kind.value, e.action, e.actor, e.run_id, e.detail) for e in audit] == [
        ("feedback", "feedback.bad", VIEWER, run_id, {"rating": "bad"})]
    assert told(slack_api)[0]["text"].startswith("Thanks")


async def test_a_rating_whose_value_is_no_run_id_is_ignored(start_ingress, slack_api) -> None:
    edge = await start_ingress(role="edge", slack_api_url=slack_api.api_url)
    body = rating_click(slack_api, "", VIEWER, "feedback_good", value="../../etc/passwd")
    assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    # A valid rating sent after it is audited alone: the first left nothing behind.
    run_id = new_id("run-")
    body = rating_click(slack_api, run_id, VIEWER, "feedback_good")
    assert (await edge.post("/slack/interactivity", body, FORM)).status_code == 200
    audit = await until(lambda: ingress_audit(edge))
    assert [(e.action, e.run_id) for e in audit] == [("feedback.good", run_id)]
