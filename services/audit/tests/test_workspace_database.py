"""A Workspace's `secretRefs.database` takes effect: the team's own audit worker is built
from exactly the environment the operator renders for it (its Secrets resolved as the
kubelet would; only the nats-server and the sink folder are the test's) and runs beside the
shared audit on one real nats-server. The team's database holds its team's chain and
nothing of another team's; the shared log still holds every team's; each anchors in its own
folder of the release's sink with the release's key, so their batches never collide."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from triage_audit.external import latest_batch
from triage_audit.keys import key_id_of, private_pem
from triage_audit.queries import events
from triage_audit.settings import Settings as AuditSettings
from triage_audit.sinks import FileSink
from triage_audit.store import AuditStore
from triage_audit.verify import verify_team
from triage_contracts.audit import AuditEmitter
from triage_contracts.messages import AuditKind
from triage_contracts.testing.kube import container_env, data_by_name
from triage_operator.resources import Owner, configmap, deployment
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec

from .conftest import running_audit

Until = Callable[..., Awaitable[None]]
OWN, OTHER = "T0044", "T0045"
TEAM_TOKEN = "team-audit-token-0123456789"
NATS_PASSWORD = "9f8c1d2e7a6b5c4d3e2f1a0b9c8d7e6f"
OWNER = Owner(name="acme", namespace="triage", uid="u1")


def render(team_db: str, sinks: str, key_pem: str, team_secret: dict[str, str] | None = None,
           **release: Any) -> dict[str, str]:
    """The audit worker's environment as the operator writes it for a Workspace naming
    its database Secret (with the chart's WORKER_AUDIT_* settings)."""
    ws = parse_spec(OWNER.name, {"teamId": OWN, "secretRefs": {"database": "acme-audit-db"}})
    operator = OperatorSettings(  # type: ignore[call-arg]
        _env_file=None, worker_audit_secret="triage-audit",
        worker_audit_checkpoint_key_key="checkpoint-key", worker_audit_anchor_sinks=sinks,
        **release)
    if team_secret is None:
        team_secret = {"DATABASE_URL": team_db, "AUDIT_API_TOKEN": TEAM_TOKEN}
    secrets = {"acme-audit-db": team_secret, "triage-audit": {"checkpoint-key": key_pem},
               "triage-nats": {"audit-password": NATS_PASSWORD}}
    return container_env(deployment(OWNER, ws, operator, "audit"),
                         data_by_name([configmap(OWNER, ws)]), secrets)


def test_the_rendered_worker_passes_the_production_checks(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In production it connects as the audit identity and has every secret it must have;
    a team Secret without its API token stops it at start, naming the key."""
    pem = private_pem(Ed25519PrivateKey.generate()).decode()
    db = "postgresql+psycopg://acme:pw@pg.acme.internal/acme_audit"
    production = {"environment": "production", "worker_nats_secret": "triage-nats",
                  "nats_user": "operator", "nats_password": NATS_PASSWORD}
    env = render(db, "s3://anchors", pem, **production)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = AuditSettings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.nats_user, settings.team_scope, settings.database_url) == (
        "audit", OWN, db)
    monkeypatch.delenv("AUDIT_API_TOKEN")
    for name, value in render(db, "s3://anchors", pem, {"DATABASE_URL": db},
                              **production).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="AUDIT_API_TOKEN must be set"):
        AuditSettings(_env_file=None)  # type: ignore[call-arg]


def anchored(sink: Path, key: Ed25519PrivateKey) -> dict[str, int]:
    """Each team's seq in the newest batch of a file sink (verified with the public key)."""
    found = latest_batch(FileSink(sink), {key_id_of(key.public_key()): key.public_key()})
    entries = found.manifest.entries if found.manifest else {}
    return {team: entry.seq for team, entry in entries.items()}


def actions(store: AuditStore, team: str) -> list[str]:
    return [row["action"] for row in events(store.engine, team)]


async def test_the_teams_audit_log_is_chained_in_its_own_database(
        nats_url: str, emitter: AuditEmitter, until: Until, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = private_pem(key).decode()
    shared_db, team_db = (f"sqlite:///{tmp_path}/{name}/audit.db" for name in ("shared", "team"))
    env = render(team_db, f"file://{tmp_path}/anchors", pem)
    assert env["TEAM_SCOPE"] == OWN and env["DATABASE_URL"] == team_db
    team = {"team_scope": env["TEAM_SCOPE"], "audit_api_token": env["AUDIT_API_TOKEN"],
            "audit_checkpoint_key": env["AUDIT_CHECKPOINT_KEY"],
            "audit_anchor_sinks": env["AUDIT_ANCHOR_SINKS"]}
    shared = {"audit_checkpoint_key": pem, "audit_anchor_sinks": f"file://{tmp_path}/anchors"}
    shared_store, team_store = AuditStore.from_url(shared_db), AuditStore.from_url(team_db)

    def recorded(store: AuditStore, team_id: str, n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(await asyncio.to_thread(actions, store, team_id)) == n
        return check

    async with running_audit(nats_url, shared_db, **shared), \
            running_audit(nats_url, env["DATABASE_URL"], **team) as team_app:
        for i in range(5):
            await emitter.emit(OWN, "r1", AuditKind.STEP, f"own-{i}")
        for i in range(3):
            await emitter.emit(OTHER, "r2", AuditKind.STEP, f"other-{i}")
        await until(recorded(team_store, OWN, 5), within=60)
        await until(recorded(shared_store, OWN, 5), within=60)
        await until(recorded(shared_store, OTHER, 3), within=60)
        await query_api(team_app)

    assert actions(team_store, OWN) == [f"own-{i}" for i in range(5)]
    assert actions(team_store, OTHER) == []  # another team's events never reach it
    assert verify_team(team_store.engine, OWN).ok and verify_team(shared_store.engine, OWN).ok
    # Anchored at shutdown: each chain in its own folder, signed with the release's key.
    assert anchored(tmp_path / "anchors" / "workspaces" / OWN, key) == {OWN: 5}
    assert anchored(tmp_path / "anchors", key) == {OWN: 5, OTHER: 3}
    for store in (shared_store, team_store):
        store.dispose()


async def query_api(app: Any) -> None:
    """The team reads its own log with its own token (the Secret's AUDIT_API_TOKEN)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit") as http:
        assert (await http.get(f"/audit/{OWN}/events")).status_code == 401
        mine = await http.get(f"/audit/{OWN}/events",
                              headers={"Authorization": f"Bearer {TEAM_TOKEN}"})
        assert mine.status_code == 200 and len(mine.json()["events"]) == 5
