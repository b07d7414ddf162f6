"""`python -m triage_operator` as the container runs it: settings from env vars, kopf's
login from KUBECONFIG, health on PORT; SIGTERM stops it cleanly (stopped by pid only)."""

import asyncio
import json
import os
import signal
import sys

import aiohttp
from triage_contracts.testing.natsserver import free_port


async def wait_http_ready(port: int, proc: asyncio.subprocess.Process,
                          within: float = 120.0) -> None:
    """A generous bound: a fresh Python process importing kopf took over 15 s to answer on
    a loaded 2-core machine."""
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            assert proc.returncode is None, "the operator process exited during start-up"
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    raise AssertionError("the operator process never became ready")


async def test_module_entry_point_reconciles_and_stops_on_sigterm(k8s, nats_url, tmp_path):
    port = free_port()
    log = (tmp_path / "operator.log").open("wb")  # a file: a full pipe would block it
    env = os.environ | {
        "NATS_URL": nats_url, "OPERATOR_NAMESPACE": k8s.NS, "PORT": str(port),
        "LIVENESS_PORT": str(free_port()), "CONSISTENCY_TIMEOUT_S": "0.2",
        "WORKER_IMAGE": "registry.test/triage-{component}:9", "LOG_JSON": "true",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "triage_operator", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log,
        start_new_session=True)
    try:
        await wait_http_ready(port, proc)
        await k8s.api("POST", body=k8s.workspace("acme"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        container = k8s.current(k8s.DEPLOY, "triage-ws-acme-tools")["spec"]["template"][
            "spec"]["containers"][0]
        assert container["image"] == "registry.test/triage-tools:9"
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        log.close()
    lines = (tmp_path / "operator.log").read_text().splitlines()
    assert code == 0, "\n".join(lines[-30:])
    records = [json.loads(line) for line in lines if line.strip()]  # LOG_JSON=true
    assert any("reconciled" in r["message"] and r.get("object", {}).get("name") == "acme"
               for r in records)
