"""The orchestrator app on a real nats-server, with test workers answering over the real
subjects: complete runs, redelivery, duplicates, approvals."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from triage_contracts import subjects
from triage_contracts.bus import jetstream, publish
from triage_contracts.messages import ApprovalDecision, DeadLetter, Decision
from triage_contracts.testing.grant_keys import GrantKeyPair
from triage_orchestrator.state import RunState

from .conftest import Bus
from .factories import APPROVAL_KEY, COMMENT, decision, request
from .workers import Workers, wait_until

SETTLE = 1.0  # time for a wrong duplicate to show up before asserting "exactly one"


async def run_state(app: FastAPI, run_id: str) -> RunState | None:
    return await app.state.orchestrator.get_run("T1", run_id)


async def finished(app: FastAPI, run_id: str) -> RunState:
    async def done() -> RunState | None:
        state = await run_state(app, run_id)
        return state if state is not None and state.terminal else None

    return await wait_until(done)


async def stream_messages(bus: Bus, subject: str) -> list[bytes]:
    """What a stream holds, read as `test-admin` (the orchestrator's identity may not)."""
    js = jetstream(bus.broker)
    sub = await js.subscribe(subject, ordered_consumer=True)
    out = []
    try:
        while True:
            out.append((await sub.next_msg(timeout=0.5)).data)
    except TimeoutError:
        return out
    finally:
        await sub.unsubscribe()


async def test_a_request_runs_to_exactly_one_reply(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    req = request()
    assert await bus.request(req)
    state = await finished(orchestrator, req.run_id)
    await asyncio.sleep(SETTLE)
    assert state.status.value == "done" and state.skill.name == "incident"
    assert sorted(c.tool for c in workers.tool_calls) == [
        "github.recent_commits", "github.workflow_runs"]
    assert [c.step_id for c in workers.model_calls] == [
        "classify", "investigate-t1", "investigate-t2"]
    assert len(workers.replies()) == 1
    reply = workers.replies()[0]
    assert reply.thread_ts == req.thread_ts and reply.text.startswith("*Triage:* CI #57 failed")
    assert state.posted_ts == "1700000100.000001" and state.cost_usd == 3 * 0.0025
    [status] = workers.statuses  # the one turn of reads was shown while it ran
    assert status.text == "Reading CI runs and commits…" and status.thread_ts == req.thread_ts

    transport = httpx.ASGITransport(app=orchestrator)
    async with httpx.AsyncClient(transport=transport, base_url="http://o") as http:
        body = (await http.get(f"/runs/T1/{req.run_id}")).json()
        assert body["status"] == "done" and body["skill"]["name"] == "incident"
        assert (await http.get("/runs/T1/run-nope")).status_code == 404
        assert (await http.get("/runs/T1/bad.id")).status_code == 400

    audit = [m.decode() for m in await stream_messages(bus, "triage.audit.T1.>")]
    assert any('"audit_kind":"request"' in m for m in audit)
    assert sum('"action":"step investigate finished"' in m for m in audit) == 1
    assert any('"action":"run finished"' in m and "cost_usd_total" in m for m in audit)


async def test_the_same_request_twice_is_one_run_with_one_reply(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    req = request(event_id="EvTwice")
    assert await bus.request(req)
    assert await bus.request(req) is False  # JetStream dedupe (same Slack event id)
    assert await bus.request(req, msg_id="EvTwice-redelivered")  # got past the dedupe window
    await finished(orchestrator, req.run_id)
    await asyncio.sleep(SETTLE)
    assert len(workers.replies()) == 1
    assert len(workers.tool_calls) == 2 and len(workers.model_calls) == 3


async def test_a_duplicate_tool_result_is_ignored(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    workers.duplicate_results = True
    req = request(event_id="EvDup")
    await bus.request(req)
    state = await finished(orchestrator, req.run_id)
    await asyncio.sleep(SETTLE)
    assert len(workers.model_calls) == 3 and len(workers.replies()) == 1
    assert state.investigation is not None and [c.status for c in state.investigation.calls] \
        == ["done", "done"]
    tool_messages = [m for m in state.investigation.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == ["c1", "c2"]  # once each
    results = await stream_messages(bus, f"triage.result.T1.{req.run_id}")
    assert sum(b'"kind":"tool_result"' in m for m in results) == 4  # each one delivered twice


async def waiting_for_approval(app: FastAPI, workers: Workers, bus: Bus,
                               event_id: str) -> RunState:
    workers.actions = [COMMENT]
    req = request(event_id=event_id)
    await bus.request(req)

    async def waiting() -> RunState | None:
        state = await run_state(app, req.run_id)
        ready = state is not None and state.status.value == "waiting_approval"
        return state if ready and state.prompt_ts else None

    return await wait_until(waiting)


async def test_write_proposal_sends_approval_request_and_prompt(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    state = await waiting_for_approval(orchestrator, workers, bus, "EvWrite")
    (approval,) = workers.approval_requests
    assert approval.approval_id == state.action.approval_id
    assert approval.action.arguments == COMMENT.arguments and approval.requester_id == "U_REQ"
    prompts = [n for n in workers.notifies if n.step_id == "approval-prompt"]
    assert len(prompts) == 1 and prompts[0].text.startswith("Approval needed:")
    assert "github.comment_issue" in [t.name for t in workers.model_calls[1].tools]
    assert not [c for c in workers.tool_calls if c.tool == "github.comment_issue"]
    assert workers.replies() == []


async def decide(bus: Bus, verdict: ApprovalDecision) -> None:
    await publish(bus.broker, verdict, subjects.approval_decision("T1"),
                  msg_id=f"decision:{verdict.approval_id}")


async def test_approve_performs_exactly_one_write_with_grant_then_replies(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    state = await waiting_for_approval(orchestrator, workers, bus, "EvApprove")
    verdict = decision(state.run_id, state.action.approval_id, state.action.digest)
    await decide(bus, verdict)
    done = await finished(orchestrator, state.run_id)
    await asyncio.sleep(SETTLE)
    writes = [c for c in workers.tool_calls if c.tool == "github.comment_issue"]
    assert len(writes) == 1 and writes[0].grant is not None
    assert writes[0].grant.signature == verdict.signature
    assert (writes[0].grant.kid, writes[0].grant.expires_at) == (verdict.kid, verdict.expires_at)
    assert writes[0].grant.action_digest == state.action.digest
    (reply,) = workers.replies()
    assert "✅ Commented on <https://gh.test/" in reply.text
    assert "(approved by <@U_APPROVER>)" in reply.text
    updates = [n for n in workers.notifies if n.step_id == "approval-update"]
    assert len(updates) == 1 and updates[0].update_ts == state.prompt_ts
    assert done.write_results[0].ok


async def test_reject_performs_no_write_and_the_reply_says_so(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    state = await waiting_for_approval(orchestrator, workers, bus, "EvReject")
    verdict = decision(state.run_id, state.action.approval_id, state.action.digest,
                       Decision.REJECT, reason="IC will post")
    await decide(bus, verdict)
    await finished(orchestrator, state.run_id)
    await asyncio.sleep(SETTLE)
    assert not [c for c in workers.tool_calls if c.tool == "github.comment_issue"]
    (reply,) = workers.replies()
    assert "Not performed: rejected by <@U_APPROVER>: IC will post" in reply.text


async def test_a_forged_approval_is_dead_lettered_and_nothing_is_written(
    orchestrator: FastAPI, workers: Workers, bus: Bus
) -> None:
    state = await waiting_for_approval(orchestrator, workers, bus, "EvForged")
    # Signed with a key of the attacker's own under the trusted key id.
    forged = decision(state.run_id, state.action.approval_id, state.action.digest,
                      key=GrantKeyPair.generate(APPROVAL_KEY.kid))
    await decide(bus, forged)
    letters = await wait_until(lambda: stream_messages(bus, "triage.dlq.T1.orchestrator"))
    letter = DeadLetter.model_validate_json(letters[0])
    assert "invalid signature: the grant's signature does not match" in letter.reason
    await asyncio.sleep(SETTLE)
    assert (await run_state(orchestrator, state.run_id)).status.value == "waiting_approval"
    assert not [c for c in workers.tool_calls if c.tool == "github.comment_issue"]


@pytest.mark.parametrize(("key", "expires_in", "why"), [
    (GrantKeyPair.generate("unlisted"), timedelta(hours=1), "not among the trusted grant keys"),
    (APPROVAL_KEY, timedelta(seconds=-1), "the grant expired at"),
])
async def test_an_approval_from_an_unknown_key_or_expired_is_refused(
    orchestrator: FastAPI, workers: Workers, bus: Bus, key: GrantKeyPair,
    expires_in: timedelta, why: str,
) -> None:
    state = await waiting_for_approval(orchestrator, workers, bus, f"Ev{key.kid}{expires_in.days}")
    refused = decision(state.run_id, state.action.approval_id, state.action.digest, key=key,
                       expires_at=datetime.now(UTC) + expires_in)
    await decide(bus, refused)
    letters = await wait_until(lambda: stream_messages(bus, "triage.dlq.T1.orchestrator"))
    assert why in DeadLetter.model_validate_json(letters[0]).reason
    await asyncio.sleep(SETTLE)
    assert (await run_state(orchestrator, state.run_id)).status.value == "waiting_approval"
    assert not [c for c in workers.tool_calls if c.tool == "github.comment_issue"]
