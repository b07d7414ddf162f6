"""`python -m triage_ingress selftest` (what `helm test` runs) against real parts: the
ingress under uvicorn, a real nats-server with JetStream and one without, run as the CLI in
a process of its own, the way the test pod runs it."""

import asyncio
import os
import sys
from pathlib import Path

from triage_contracts.testing.natsserver import custom_server, free_port

from .conftest import SIGNING_SECRET, Ingress


async def selftest(*args: str, secret: str | None = SIGNING_SECRET) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "SLACK_SIGNING_SECRET"}
    if secret is not None:
        env["SLACK_SIGNING_SECRET"] = secret
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "triage_ingress", "selftest", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()


def failed(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("FAIL")]


async def test_a_healthy_release_passes_every_check(ingress: Ingress, nats_url: str) -> None:
    code, out = await selftest("--ready", f"ingress={ingress.url}", "--nats", nats_url,
                               "--ingress", ingress.url)
    assert code == 0, out
    assert "5/5 checks passed" in out
    assert "JetStream enabled" in out
    assert SIGNING_SECRET not in out


async def test_a_signing_secret_that_differs_from_the_ingress_fails(ingress: Ingress) -> None:
    code, out = await selftest("--ingress", ingress.url, secret="not-the-release-secret")
    assert code == 1
    assert [line.split(":")[0] for line in failed(out)] == ["FAIL signed challenge answered"]
    assert "not-the-release-secret" not in out


async def test_without_the_secret_the_signature_path_is_a_failure(ingress: Ingress) -> None:
    code, out = await selftest("--ingress", ingress.url, secret=None)
    assert code == 1
    assert "SLACK_SIGNING_SECRET is not set" in out


async def test_an_unready_or_absent_component_fails(ingress: Ingress) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    code, out = await selftest("--ready", f"ingress={ingress.url}",
                               "--ready", f"tools={nobody}")
    assert code == 1
    assert len(failed(out)) == 1 and "ready tools" in failed(out)[0]
    assert "1/2 checks passed" in out


async def test_nats_unreachable_not_nats_or_without_jetstream_fails(
        ingress: Ingress, tmp_path: Path) -> None:
    code, out = await selftest("--nats", f"nats://127.0.0.1:{free_port()}")
    assert code == 1 and "unreachable" in out
    http_port = ingress.url.rsplit(":", 1)[1]  # answers TCP, says nothing first
    code, out = await selftest("--nats", f"nats://127.0.0.1:{http_port}", "--timeout", "2")
    assert code == 1 and "sent no INFO" in out
    port = free_port()
    with custom_server(f"listen: 127.0.0.1:{port}\n", tmp_path, port):
        code, out = await selftest("--nats", f"nats://127.0.0.1:{port}")
    assert code == 1 and "JetStream is not enabled" in out


async def test_nothing_to_check_is_an_error() -> None:
    code, out = await selftest()
    assert code == 2 and "nothing to check" in out
