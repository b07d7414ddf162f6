"""Fixtures of the audit tests: a real database on both backends, a running audit app on a
real nats-server, and a publisher that speaks through the contracts' AuditEmitter.

`database_url` is parametrised: every storage test runs on SQLite (a file in tmp_path) and
on PostgreSQL (a fresh schema per test, dropped afterwards). PostgreSQL being unreachable is a
failure with a clear message, never a skip: CI has one and the chain must hold on it.
"""

import asyncio
import functools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy import text
from triage_audit.app import build_app
from triage_audit.settings import Settings
from triage_audit.store import AuditStore
from triage_contracts.audit import AuditEmitter
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.messages import AuditEvent, AuditKind
from triage_contracts.streams import provision
from triage_contracts.testing import postgres


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tamper_trials: the random tamper trials (about 20-40 s; in the default run)")


POSTGRES_URL = os.environ.get("AUDIT_TEST_POSTGRES_URL", postgres.DEFAULT_URL)


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """(database URL, schema): a fresh schema, found first on the search_path."""
    with postgres.fresh_schema(POSTGRES_URL, "audit_test", "AUDIT_TEST_POSTGRES_URL") as found:
        yield found


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/db/audit.db"
    url, _schema = request.getfixturevalue("postgres_schema")
    return str(url)


@pytest.fixture
def store(database_url: str) -> Iterator[AuditStore]:
    audit_store = AuditStore.from_url(database_url)
    audit_store.create_schema()
    yield audit_store
    audit_store.dispose()


@pytest.fixture
def sql(store: AuditStore) -> Callable[..., list[Any]]:
    """Raw SQL against the audit database (what a tamperer with DB access would run)."""
    def run(statement: str, **params: Any) -> list[Any]:
        with store.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    return run


def make_event(team: str = "T1", run: str = "r1", action: str = "step", **extra: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "team_id": team, "run_id": run, "service": "tools", "audit_kind": AuditKind.TOOL_CALL,
        "action": action, "detail": {"n": action}, "cost_usd": 0.0,
    }
    fields.update(extra)
    return AuditEvent(**fields)


@pytest.fixture
def event_factory() -> Callable[..., AuditEvent]:
    return make_event


def run_cli(*args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m triage_audit ...` as a real subprocess (its own interpreter and engine)."""
    return subprocess.run(
        [sys.executable, "-m", "triage_audit", *args], capture_output=True, text=True,
        timeout=60, env={**os.environ, **(env or {})}, cwd=cwd,
    )


@pytest.fixture
def cli(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """The CLI run in a fresh folder: its development defaults (`.triage/` for the
    checkpoint key and the file sink) are the test's own, never the repository's."""
    return functools.partial(run_cli, cwd=tmp_path_factory.mktemp("cli"))


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.05)


@pytest.fixture
def until() -> Callable[..., Awaitable[None]]:
    return wait_until


def audit_settings(nats_url: str, database_url: str, **extra: Any) -> Settings:
    return Settings(nats_url=nats_url, database_url=database_url, **extra)


@asynccontextmanager
async def running_audit(nats_url: str, database_url: str, **extra: Any) -> AsyncIterator[FastAPI]:
    """The audit app with its real lifespan: connect, provision, consume; stop on exit."""
    app = build_app(audit_settings(nats_url, database_url, **extra))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def audit_service(tmp_path: Path) -> Callable[..., Any]:
    """Audit apps of this test share one data folder (development key, file sink), as
    replicas of one deployment share one key and one sink."""
    def start(nats_url: str, database_url: str, **extra: Any) -> Any:
        extra.setdefault("audit_data_dir", tmp_path / "audit-data")
        return running_audit(nats_url, database_url, **extra)
    return start


@pytest.fixture
async def publisher(nats_url: str) -> AsyncIterator[NatsBroker]:
    """A separate service's broker (here: 'tools'), streams provisioned, for publishing."""
    broker = build_broker(nats_url, "tools")
    await broker.connect()
    await provision(jetstream(broker))
    yield broker
    await broker.stop()


@pytest.fixture
def emitter(publisher: NatsBroker) -> AuditEmitter:
    return AuditEmitter(publisher, "tools")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible HTTP server on loopback (moto's, with Object Lock)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(endpoint, bucket): a fresh Object Lock bucket; credentials in the standard AWS
    variables, as an operator would set them."""
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "audit-test"),
                        ("AWS_SECRET_ACCESS_KEY", "audit-test-secret"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"audit-anchors-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return s3_server, bucket
