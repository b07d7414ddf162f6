"""Anchoring in the running service on a real nats-server: batches every N events, on the
timer and at shutdown; verify from the API and the CLI (a real subprocess) against file and
S3 Object Lock sinks (moto's server over loopback HTTP); the private key never leaves."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from triage_audit.external import latest_batch
from triage_audit.keys import key_id_of, load_signing_key, private_pem, public_pem
from triage_audit.queries import events
from triage_audit.sinks import FileSink
from triage_audit.store import AuditStore
from triage_contracts.audit import AuditEmitter
from triage_contracts.messages import AuditKind
from triage_contracts.testing.natsserver import free_port

Until = Callable[..., Awaitable[None]]
Cli = Callable[..., subprocess.CompletedProcess[str]]
Sql = Callable[..., list[Any]]


def anchored_seq(data_dir: Path, team: str = "T1") -> Callable[[], Awaitable[int]]:
    """The team's seq in the newest valid batch of the service's development file sink."""
    sink = FileSink(data_dir / "anchors")

    async def read() -> int:
        key = load_signing_key(None, None, data_dir, create=False)
        if key is None:
            return 0
        found = await asyncio.to_thread(latest_batch, sink, {key.key_id: key.public})
        entry = found.manifest.entries.get(team) if found.manifest else None
        return entry.seq if entry else 0
    return read


async def emit(emitter: AuditEmitter, n: int, team: str = "T1") -> None:
    for i in range(n):
        await emitter.emit(team, "r1", AuditKind.STEP, f"step-{i}")


async def test_every_n_events_on_the_timer_and_at_shutdown(
    audit_service: Any, nats_url: str, database_url: str, emitter: AuditEmitter,
    until: Until, tmp_path: Path, store: AuditStore,
) -> None:
    seq = anchored_seq(tmp_path / "audit-data")

    async def recorded() -> bool:
        return len(await asyncio.to_thread(events, store.engine, "T1")) == 7

    async with audit_service(nats_url, database_url, audit_checkpoint_every=5,
                             audit_checkpoint_interval_s=3600):
        await emit(emitter, 5)
        await until(lambda: _at_least(seq, 5), within=30)  # the count trigger
        await emit(emitter, 2)
        await until(recorded)
        assert await seq() == 5
    assert await seq() == 7  # the final batch at shutdown
    async with audit_service(nats_url, database_url, audit_checkpoint_every=1000,
                             audit_checkpoint_interval_s=0.3):
        await emit(emitter, 2)
        await until(lambda: _at_least(seq, 9), within=30)  # the timer


async def _at_least(read: Callable[[], Awaitable[int]], n: int) -> bool:
    return await read() >= n


async def test_the_api_verifies_against_the_external_anchor(
    audit_service: Any, nats_url: str, database_url: str, emitter: AuditEmitter,
    until: Until, sql: Sql, tmp_path: Path,
) -> None:
    seq = anchored_seq(tmp_path / "audit-data", "T2")
    async with audit_service(nats_url, database_url, audit_checkpoint_every=3) as app:
        await emit(emitter, 3, "T2")
        await until(lambda: _at_least(seq, 3), within=30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as http:
            whole = (await http.get("/audit/verify")).json()
            assert whole["ok"] and whole["anchors"][0]["batch"] >= 1
            one = (await http.get("/audit/T2/verify")).json()
            assert one["ok"] and one["anchor"]["seq"] == 3 and one["checkpoints"] >= 1
            for table in ("audit_events", "audit_heads", "audit_checkpoints"):
                sql(f"DELETE FROM {table} WHERE team_id = 'T2'")
            gone = await http.get("/audit/T2/verify")
            assert gone.status_code == 200 and gone.json()["ok"] is False
            assert gone.json()["first_error"]["reason"] == "team_deleted"
            assert (await http.get("/audit/verify")).json()["ok"] is False
            assert (await http.get("/audit/NOPE/verify")).status_code == 404


def write_key(folder: Path) -> tuple[str, str, str]:
    """(private PEM text, public key file, key id)."""
    private = Ed25519PrivateKey.generate()
    public_file = folder / "audit-public.pem"
    public_file.write_bytes(public_pem(private.public_key()))
    return private_pem(private).decode(), str(public_file), key_id_of(private.public_key())


async def test_a_service_process_anchors_in_s3_and_the_cli_verifies(
    nats_url: str, database_url: str, s3_bucket: tuple[str, str], emitter: AuditEmitter,
    until: Until, tmp_path: Path, sql: Sql, cli: Cli,
) -> None:
    endpoint, bucket = s3_bucket
    s3 = f"s3://{bucket}/triage?endpoint_url={endpoint}&region=us-east-1&retain_days=1"
    sinks = f"{s3},file://{tmp_path}/anchors"
    pem, public_file, key_id = write_key(tmp_path)
    port = free_port()
    env = {**os.environ, "NATS_URL": nats_url, "PORT": str(port), "LOG_LEVEL": "DEBUG",
           "DATABASE_URL": database_url, "AUDIT_CHECKPOINT_KEY": pem,
           "AUDIT_ANCHOR_SINKS": sinks, "AUDIT_CHECKPOINT_EVERY": "4"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "triage_audit", env=env, cwd=tmp_path, start_new_session=True,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            async def anchored() -> bool:
                assert process.returncode is None, "the audit service exited early"
                try:
                    body = (await http.get("/audit/T1/verify")).json()
                except (httpx.TransportError, ValueError):
                    return False
                return (body.get("anchor") or {}).get("seq", 0) >= 4
            await emit(emitter, 4)
            await until(anchored, within=60)
            body = (await http.get("/audit/verify")).text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
    assert key_id in output and "Traceback" not in output, output
    key_body = pem.splitlines()[1]
    assert key_body not in output and "PRIVATE KEY" not in output  # never logged
    assert key_body not in body and "PRIVATE KEY" not in body
    assert "DEVELOPMENT" not in output

    args = ["verify", "--database-url", database_url, "--public-keys", public_file]
    intact = cli(*args, "--sinks", s3)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "T1: 4 events" in intact.stdout and "anchored at seq 4" in intact.stdout
    assert f"anchor s3://{bucket}/triage/ at {endpoint}: batch" in intact.stdout
    sql("UPDATE audit_events SET action = 'forged' WHERE seq = 2")
    sql("DELETE FROM audit_checkpoints")
    broken = cli(*args, "--sinks", s3)
    assert broken.returncode == 1 and "BROKEN at seq 2 (hash_mismatch)" in broken.stdout
    no_key = cli("verify", "--database-url", database_url, "--sinks", s3)
    assert no_key.returncode == 1 and "not among the trusted public keys" in no_key.stdout


def test_the_cli_reports_an_unreachable_or_empty_sink(
    store: Any, event_factory: Any, database_url: str, cli: Cli, tmp_path: Path,
) -> None:
    store.append(event_factory())
    down = f"s3://b/p?endpoint_url=http://127.0.0.1:{free_port()}&region=us-east-1"
    proc = cli("verify", "--database-url", database_url, "--sinks", down,
               env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert proc.returncode == 1 and "FAILED: unreachable" in proc.stdout, proc.stdout
    empty = cli("verify", "--database-url", database_url, "--sinks", f"file://{tmp_path}/e")
    assert empty.returncode == 0 and "no batch yet in 1 sink(s) — ok" in empty.stdout
    assert "not anchored externally yet" in empty.stdout
    required = cli("verify", "--database-url", database_url, "--sinks", f"file://{tmp_path}/e",
                   "--require-anchor")
    assert required.returncode == 1 and "an anchor is required" in required.stdout
