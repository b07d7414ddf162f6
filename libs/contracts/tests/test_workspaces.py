"""The workspace directory (model, key, bucket on a real nats-server) and the metrics
listener on a port of its own (real HTTP)."""

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.errors import PermanentError
from triage_contracts.health import MetricsListener
from triage_contracts.streams import Buckets, provision
from triage_contracts.testing.natsserver import free_port
from triage_contracts.workspaces import RouteTarget, WorkspaceDirectory, directory_key


def test_entries_round_trip_and_tolerate_newer_fields() -> None:
    entry = WorkspaceDirectory(team_id="T1", workspace="acme", approvers=["U1", "U2"])
    raw = entry.model_dump_json().encode()
    assert WorkspaceDirectory.model_validate_json(raw) == entry
    newer = WorkspaceDirectory.model_validate(
        {**entry.model_dump(mode="json"), "channels": ["C1"]})
    assert newer.approvers == ["U1", "U2"]


def test_routes_and_budget_round_trip_and_an_older_entry_has_neither() -> None:
    entry = WorkspaceDirectory(team_id="T1", workspace="acme", budget_usd_per_day=2.5,
                               model_routes={"agent": [RouteTarget(provider="offline",
                                                                   model="offline-rules-1")]})
    assert WorkspaceDirectory.model_validate_json(entry.model_dump_json()) == entry
    older = WorkspaceDirectory.model_validate({"team_id": "T1", "workspace": "acme"})
    assert older.model_routes == {} and older.budget_usd_per_day is None


def test_keys_are_safe_tokens() -> None:
    assert directory_key("T024BE7LD") == "T024BE7LD"
    with pytest.raises(PermanentError):
        directory_key("T1.>")


async def test_the_bucket_is_provisioned_with_the_rest(nats_url: str) -> None:
    broker = build_broker(nats_url, "test")
    await broker.connect()
    try:
        await provision(jetstream(broker))
        kv = await jetstream(broker).key_value(Buckets.WORKSPACES.name)
        entry = WorkspaceDirectory(team_id="T1", workspace="acme", approvers=["U1"])
        await kv.put(directory_key("T1"), entry.model_dump_json().encode())
        got = await kv.get(directory_key("T1"))
        assert WorkspaceDirectory.model_validate_json(got.value or b"") == entry
    finally:
        await broker.stop()


async def test_metrics_listener_serves_its_registry_on_its_own_port() -> None:
    registry = CollectorRegistry()
    Counter("triage_test_things", "things", registry=registry).inc(3)
    listener = MetricsListener(registry, "127.0.0.1", free_port())
    listener.start()
    try:
        async with httpx.AsyncClient() as http:
            resp = await http.get(f"http://127.0.0.1:{listener.port}/metrics")
        assert resp.status_code == 200 and "triage_test_things_total 3.0" in resp.text
    finally:
        await asyncio.to_thread(listener.stop)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{listener.port}/metrics", timeout=2)
