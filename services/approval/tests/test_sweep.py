"""The background sweep: overdue approvals expire with a signed EXPIRE decision, and a
decision recorded while NATS was down is published once NATS is back."""

import asyncio
from pathlib import Path

import httpx
from triage_approval.decisions import EXPIRY_ACTOR
from triage_approval.store import ApprovalStore
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.messages import Decision
from triage_contracts.streams import provision
from triage_contracts.testing.natsserver import NatsServer

from .conftest import (
    SERVICE_TOKEN,
    TEAM,
    Bus,
    Service,
    approval_request,
    eventually,
    make_settings,
    serve,
    verify_signed,
)

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


async def test_overdue_approval_expires(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request(expires_in=1.0))
    await service.wait_stored(req.approval_id)

    [decision] = await eventually(bus.decisions)
    assert decision.decision is Decision.EXPIRE and decision.approver_id == EXPIRY_ACTOR
    assert verify_signed(decision).decision is Decision.EXPIRE
    resp = await service.decide(req.approval_id, "U_ALICE", "approve")
    assert resp.status_code == 410 and resp.json()["detail"].startswith("expired at ")
    item = (await service.item(req.approval_id)).json()
    assert item["status"] == "expired"
    await asyncio.sleep(0.5)
    assert len(await bus.decisions()) == 1


async def test_decision_made_during_nats_outage_is_published_later(tmp_path: Path) -> None:
    nats = NatsServer(store_dir=tmp_path / "nats", sync_interval="1s", test_admin=True).start()
    settings = make_settings(nats.admin_url, tmp_path)
    server, task, url = await serve(settings)
    bus = Bus(build_broker(nats.admin_url, "orchestrator-stand-in"))
    try:
        await bus.broker.connect()
        await provision(jetstream(bus.broker))
        req = await bus.request(approval_request())
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await eventually(lambda: _stored(http, req.approval_id))
            nats.stop()  # the store folder survives: the restart keeps every stream
            resp = await http.post(f"/api/approvals/{req.approval_id}/decision",
                                   json={"decision": "approve", "approver_id": "U_ALICE",
                                         "team_id": TEAM}, headers=SERVICE)
            assert resp.status_code == 200, resp.text  # recorded; publishing deferred
            store = server.config.app.state.approvals.store
            assert (await store.get(req.approval_id)).published_at is None
            nats.start()
            [decision] = await eventually(bus.decisions, within=30)
            await eventually(lambda: _published(store, req.approval_id))
            assert decision.approver_id == "U_ALICE" and decision.decision is Decision.APPROVE
            await asyncio.sleep(1.0)
            assert len(await bus.decisions()) == 1
    finally:
        server.should_exit = True
        await task
        await bus.broker.stop()
        nats.stop()


async def _published(store: ApprovalStore, approval_id: str) -> bool:
    row = await store.get(approval_id)
    return row is not None and row.published_at is not None


async def _stored(http: httpx.AsyncClient, approval_id: str) -> bool:
    resp = await http.get(f"/api/approvals/{approval_id}", params={"team_id": TEAM},
                          headers=SERVICE)
    return resp.status_code == 200
