"""`python -m triage_audit` (no arguments) serves: a real process with real uvicorn,
configured only through environment variables, stopped by its process group."""

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from triage_contracts.audit import AuditEmitter
from triage_contracts.messages import AuditKind
from triage_contracts.testing.natsserver import free_port

Until = Callable[..., Awaitable[None]]


async def test_the_module_serves_the_consumer_and_the_api(
    nats_url: str, tmp_path: Path, emitter: AuditEmitter, until: Until,
) -> None:
    port = free_port()
    env = {**os.environ, "NATS_URL": nats_url, "PORT": str(port), "LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp_path}/audit.db", "AUDIT_API_TOKEN": "t0ken-abc"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "triage_audit", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2.0,
                                     headers={"Authorization": "Bearer t0ken-abc"}) as http:
            async def ready() -> bool:
                assert process.returncode is None, "the audit service exited early"
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(ready, within=60)
            await emitter.emit("T1", "run-9", AuditKind.NOTIFY, "posted reply", cost_usd=0.5)

            async def recorded() -> bool:
                response = await http.get("/audit/T1/runs/run-9")
                return response.status_code == 200

            await until(recorded)
            run = (await http.get("/audit/T1/runs/run-9")).json()
            assert run["total_cost_usd"] == 0.5 and run["events"][0]["action"] == "posted reply"
            assert (await http.get("/audit/T1/verify")).json()["ok"] is True
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = (await asyncio.wait_for(process.communicate(), 30))[0].decode()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output, output
    assert (tmp_path / "audit.db").exists()
