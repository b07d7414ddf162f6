"""The auditors' HTTP API against a real database, through the app's real lifespan."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from triage_audit.settings import Settings
from triage_audit.store import AuditStore
from triage_contracts.messages import AuditEvent
from triage_contracts.testing import PRODUCTION_NATS

Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]
TOKEN = "audit-test-token-123"


@pytest.fixture
async def client(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
) -> AsyncIterator[httpx.AsyncClient]:
    async with audit_service(nats_url, database_url, audit_api_token=TOKEN) as app:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://audit",
                                     headers=headers) as http:
            yield http


@pytest.fixture
def populated(store: AuditStore, event_factory: Factory) -> AuditStore:
    for i in range(6):
        store.append(event_factory(team="T1", run=f"r{i % 2}", action=f"a{i}", cost_usd=0.25))
    store.append(event_factory(team="T2", action="other"))
    return store


async def test_teams_events_and_pagination(
    client: httpx.AsyncClient, populated: AuditStore
) -> None:
    teams = (await client.get("/audit/teams")).json()["teams"]
    assert [(t["team_id"], t["seq"]) for t in teams] == [("T1", 6), ("T2", 1)]

    page = (await client.get("/audit/T1/events", params={"limit": 4})).json()
    assert [e["seq"] for e in page["events"]] == [1, 2, 3, 4] and page["next_after_seq"] == 4
    rest = (await client.get("/audit/T1/events", params={"after_seq": 4})).json()
    assert [e["action"] for e in rest["events"]] == ["a4", "a5"] and rest["next_after_seq"] is None
    run = (await client.get("/audit/T1/events", params={"run_id": "r1"})).json()
    assert [e["seq"] for e in run["events"]] == [2, 4, 6]
    assert set(page["events"][0]) >= {"hash", "prev_hash", "detail", "created_at", "cost_usd"}
    assert (await client.get("/audit/T1/events", params={"limit": 0})).status_code == 422
    assert (await client.get("/audit/bad.team/events")).status_code in (404, 422)


async def test_run_timeline_with_total_cost(
    client: httpx.AsyncClient, populated: AuditStore
) -> None:
    response = await client.get("/audit/T1/runs/r0")
    assert response.status_code == 200
    body = response.json()
    assert [e["action"] for e in body["events"]] == ["a0", "a2", "a4"]
    assert body["total_cost_usd"] == pytest.approx(0.75)
    assert body["services"] == ["tools"] and body["started_at"] <= body["ended_at"]
    assert (await client.get("/audit/T1/runs/nope")).status_code == 404


async def test_verify_endpoint_reports_the_first_broken_seq(
    client: httpx.AsyncClient, populated: AuditStore, sql: Sql
) -> None:
    ok = (await client.get("/audit/T1/verify")).json()
    assert ok["ok"] is True and ok["count"] == 6 and ok["first_error"] is None
    assert ok["head"]["seq"] == 6
    sql("UPDATE audit_events SET outcome = 'error' WHERE team_id = 'T1' AND seq = 4")
    broken = (await client.get("/audit/T1/verify")).json()
    assert broken["ok"] is False
    assert broken["first_error"]["seq"] == 4 and broken["first_error"]["reason"] == "hash_mismatch"
    assert (await client.get("/audit/T2/verify")).json()["ok"] is True
    assert (await client.get("/audit/NOPE/verify")).status_code == 404


async def test_the_api_token_is_required_when_configured(
    client: httpx.AsyncClient, populated: AuditStore
) -> None:
    anonymous = await client.get("/audit/teams", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    wrong = await client.get("/audit/T1/events", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    basic = await client.get("/audit/T1/verify", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert (await client.get("/audit/teams")).status_code == 200
    # Probes stay open: Kubernetes has no token.
    health = await client.get("/healthz", headers={"Authorization": ""})
    ready = await client.get("/readyz", headers={"Authorization": ""})
    assert (health.status_code, ready.status_code) == (200, 200)


def test_production_refuses_to_start_without_an_api_token() -> None:
    with pytest.raises(ValueError, match="AUDIT_API_TOKEN"):
        Settings(environment="production").check_production_secrets()
    # The anchor's own production requirements are tested in test_anchoring.py.
    Settings(environment="production", audit_api_token=SecretStr("t" * 32),
             audit_checkpoint_key_file="/keys/audit.pem",
             audit_anchor_sinks="s3://audit-anchors/prod", **PRODUCTION_NATS
             ).check_production_secrets()
