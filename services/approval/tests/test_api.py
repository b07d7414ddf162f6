"""The JSON API and the decision rules end to end: a request published on a real NATS is
stored, decided through HTTP under uvicorn by people authenticated with a proxy JWT (the
IdP stand-in's keys), and one signed decision lands on the stream."""

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import httpx
from triage_contracts.messages import ApprovalDecision, AuditKind, Decision
from triage_contracts.testing.natsserver import free_port

from .conftest import (
    REQUESTER,
    Bus,
    Service,
    approval_request,
    eventually,
    make_settings,
    serve,
    stop,
    verify_signed,
)
from .idp import IdP


def assert_signed(decision: ApprovalDecision) -> None:
    claims = verify_signed(decision)
    # The grant lives for GRANT_TTL_S (one hour by default) from the decision.
    assert claims.expires_at - claims.decided_at == timedelta(hours=1)


async def test_published_request_is_listed_and_audited(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    assert req.approval_id in await eventually(service.pending_ids)

    item = (await service.item(req.approval_id)).json()
    assert item["action"]["arguments"]["body"] == req.action.arguments["body"]
    assert item["requester_id"] == REQUESTER and item["status"] == "pending"
    assert item["url"] == f"{service.settings.public_url}/approvals/{req.approval_id}"
    audit = await eventually(bus.audit)
    assert [(e.audit_kind, e.action, e.actor) for e in audit] == [
        (AuditKind.APPROVAL, "requested", REQUESTER)]


async def test_redelivered_request_is_stored_once(service: Service, bus: Bus) -> None:
    req = approval_request()
    await bus.request(req)
    await bus.request(req.model_copy(update={"message_id": "another-delivery"}))
    await service.wait_stored(req.approval_id)
    await asyncio.sleep(0.5)
    assert await service.pending_ids() == [req.approval_id]


async def test_approve_publishes_one_verifiable_decision(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)

    resp = await service.decide(req.approval_id, "U_ALICE", "approve")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "approved" and resp.json()["decided_by"] == "U_ALICE"
    [decision] = await eventually(bus.decisions)
    assert decision.decision is Decision.APPROVE and decision.approver_id == "U_ALICE"
    assert decision.action_digest == req.action_digest and decision.run_id == req.run_id
    assert_signed(decision)

    again = await service.decide(req.approval_id, "U_BOB", "approve")
    assert again.status_code == 409
    assert again.json()["detail"].startswith("already approved by U_ALICE at ")
    await asyncio.sleep(0.5)
    assert len(await bus.decisions()) == 1
    kinds = [(e.audit_kind, e.action) for e in await bus.audit()]
    assert (AuditKind.DECISION, "approve") in kinds


async def test_concurrent_approvals_decide_once(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    answers = await asyncio.gather(
        *(service.decide(req.approval_id, user, "approve") for user in ("U_ALICE", "U_BOB") * 3))
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409, 409, 409]
    await asyncio.sleep(0.5)
    assert len(await bus.decisions()) == 1


async def test_requester_cannot_approve_own_request(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    resp = await service.decide(req.approval_id, REQUESTER, "approve")
    assert resp.status_code == 403
    assert resp.json()["detail"] == "the requester cannot approve their own request"
    await asyncio.sleep(0.5)
    assert await bus.decisions() == []
    assert await service.pending_ids() == [req.approval_id]


async def test_requester_may_withdraw_with_a_reason(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    resp = await service.decide(req.approval_id, REQUESTER, "reject", "asked the wrong thing")
    assert resp.status_code == 200 and resp.json()["status"] == "rejected"


async def test_only_the_workspace_approvers_may_decide(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    other = await bus.request(approval_request(team="T_OTHER"))
    await service.wait_stored(req.approval_id)

    await service.wait_stored(other.approval_id, team="T_OTHER")

    for user in ("U_MALLORY", "U_CAROL"):  # U_CAROL approves for T_OTHER only
        resp = await service.decide(req.approval_id, user, "approve")
        assert resp.status_code == 403
        assert resp.json()["detail"] == f"{user} is not an approver for this workspace"
    decided = await service.decide(other.approval_id, "U_CAROL", "approve", team="T_OTHER")
    assert decided.status_code == 200
    [decision] = await eventually(bus.decisions)
    assert decision.approval_id == other.approval_id and decision.team_id == "T_OTHER"


async def test_reject_needs_a_reason_and_is_published(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    missing = await service.decide(req.approval_id, "U_BOB", "reject", "  ")
    assert missing.status_code == 422
    assert missing.json()["detail"] == "a reason is required to reject"
    assert await bus.decisions() == []

    resp = await service.decide(req.approval_id, "U_BOB", "reject", "incident lead posts it")
    assert resp.status_code == 200
    [decision] = await eventually(bus.decisions)
    assert decision.decision is Decision.REJECT and decision.reason == "incident lead posts it"
    assert_signed(decision)


async def test_unknown_and_invalid(service: Service, bus: Bus) -> None:
    missing = await service.decide("ap-nope", "U_ALICE", "approve")
    assert missing.status_code == 404 and missing.json()["detail"] == "no approval ap-nope"
    assert (await service.item("ap-nope")).status_code == 404
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    expire = await service.decide(req.approval_id, "U_ALICE", "expire")
    assert expire.status_code == 422


async def test_an_approval_with_edited_arguments_is_refused_not_applied(
        service: Service, bus: Bus) -> None:
    """A decision approves the action as shown: an edit in the body is refused with the
    reason (it used to be dropped silently, and the original action was approved)."""
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    session = service.person("U_ALICE")
    edited = {**req.action.model_dump(mode="json"), "arguments": {
        **req.action.arguments, "body": "edited by the approver"}}
    resp = await session.decide(req.approval_id, "approve", action=edited)
    assert resp.status_code == 422, resp.text
    assert "action" in resp.text and "Extra inputs are not permitted" in resp.text
    assert (await service.item(req.approval_id)).json()["status"] == "pending"
    assert await bus.decisions() == []


async def test_mismatched_digest_is_dead_lettered(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request(action_digest="0" * 64))
    [letter] = await eventually(bus.dead_letters)
    assert letter.service == "approval" and "action_digest does not match" in letter.reason
    assert (await service.item(req.approval_id)).status_code == 404


async def test_health_and_metrics_on_its_own_port(nats_url: str, tmp_path: Path,
                                                   bus: Bus, idp: IdP) -> None:
    settings = make_settings(nats_url, tmp_path, idp.issuer, metrics_port=free_port(),
                             consumer_lag_interval_s=0.2)
    server, task, url = await serve(settings)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=15) as http:
            running = Service(server.config.app, http, settings, idp)
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            req = await bus.request(approval_request())
            await running.wait_stored(req.approval_id)
            await running.decide(req.approval_id, "U_ALICE", "approve")
            # The public port serves no metrics; the metrics port does.
            assert (await http.get("/metrics")).status_code in (401, 404)
            metrics = (await http.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")).text
            assert 'triage_approval_decisions_total{decision="approve"} 1.0' in metrics
            # The consumer it drains, read from JetStream as KEDA reads it: once the request
            # is acknowledged, nothing waits (read every 0.2 s: polled, not slept on).
            lag = 'triage_consumer_lag{consumer="approval-requests",stream="APPROVALS"} 0.0'
            deadline = time.monotonic() + 15
            while lag not in metrics and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                metrics = (await http.get(f"http://127.0.0.1:{settings.metrics_port}/metrics"
                                          )).text
            assert lag in metrics
            await running.close()
    finally:
        await stop(server, task)
