"""Leader election on a real nats-server, as the operator's own NATS identity (the
permission matrix enforced): one candidate leads, a standby takes over a released lease at
once and an abandoned one after its duration, a leader whose lease was taken stops; and two
real operators on kmock, of which only the leader reconciles until it goes."""

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nats.js.errors import KeyWrongLastSequenceError
from triage_contracts.natsauth import NatsAuth
from triage_contracts.streams import Buckets
from triage_contracts.testing.natsserver import NatsServer, stop_group_async
from triage_contracts.testing.wait import eventually
from triage_operator.__main__ import LeadershipLost, run
from triage_operator.leader import Elector, lease_key

NS = "triage"


def elector(server: NatsServer, identity: str, lease_s: float = 2.0) -> Elector:
    auth = NatsAuth("operator", "operator", server.password("operator"))
    return Elector(server.url, auth, NS, identity, lease_s=lease_s, renew_s=lease_s / 4,
                   renew_deadline_s=lease_s / 2, retry_s=0.1)


async def leads_within(candidate: Elector, seconds: float) -> float:
    """How long `candidate` took to lead (fails the test past `seconds`)."""
    started = time.monotonic()
    await asyncio.wait_for(candidate.campaign(), seconds)
    return time.monotonic() - started


@contextlib.asynccontextmanager
async def electors(server: NatsServer, *names: str, lease_s: float = 2.0
                   ) -> AsyncIterator[list[Elector]]:
    found = [elector(server, name, lease_s) for name in names]
    try:
        yield found
    finally:
        for item in found:
            await item.close()


async def test_one_leads_and_a_released_lease_passes_at_once(nats_server: NatsServer) -> None:
    async with electors(nats_server, "a", "b", lease_s=30.0) as (a, b):
        await leads_within(a, 10)
        standby = asyncio.create_task(b.campaign())
        # b keeps finding a's fresh lease (it renews well within its 30 s)...
        await asyncio.sleep(1.0)
        assert not standby.done()
        await a.release()
        # ... and takes it as soon as a hands it over, long before it would expire.
        await asyncio.wait_for(standby, 10)
    assert nats_server.violations() == []


async def test_an_abandoned_lease_is_taken_after_its_duration(nats_server: NatsServer) -> None:
    async with electors(nats_server, "a", "b") as (a, b):
        await leads_within(a, 10)
        # a crashes: it neither renews nor releases. b waits out the 2 s lease, measured
        # by its own clock from when it first saw that revision.
        waited = await leads_within(b, 30)
        assert waited >= 2.0
        # a, back, finds its lease taken: renewing fails, so it stops leading.
        await asyncio.wait_for(a.hold(), 10)
    assert nats_server.violations() == []


async def test_a_leader_that_cannot_renew_stops_before_the_lease_expires(
        nats_server: NatsServer) -> None:
    async with electors(nats_server, "a", lease_s=4.0) as (a,):
        await leads_within(a, 10)
        holding = asyncio.create_task(a.hold())
        nats_server.stop()  # NATS gone: a cannot renew
        await asyncio.wait_for(holding, 30)
        # Every wait and request is cut at its renew deadline (2 s after its last renewal
        # was sent): it has stopped before the 4 s after which a standby could take over.
        assert time.monotonic() - a._sent_at < a.lease_s
        assert not a.leading


async def test_the_lease_is_stored_for_people_to_read(nats_server: NatsServer) -> None:
    async with electors(nats_server, "operator-7f9c") as (a,):
        await leads_within(a, 10)
        kv = await (await a._bucket()).get(lease_key(NS))
        assert b'"holder":"operator-7f9c"' in (kv.value or b"")
        assert Buckets.LEASES.name == "triage-leases"


async def status_of(port: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
            body: dict[str, Any] = await resp.json()
            return {"code": resp.status, **body}


@contextlib.asynccontextmanager
async def operator_process(settings: Any, password: str, log: Path
                           ) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m triage_operator`, a replica of its own (kopf owns its event loop: two
    operators cannot share one), stopped by its process group."""
    # A lease long enough that a replica starting beside it on a loaded machine never
    # misses a renewal: the handover the test waits for is the released lease, at once.
    env = {**os.environ, "NATS_URL": settings.nats_url, "NATS_USER": "operator",
           "NATS_PASSWORD": password, "OPERATOR_NAMESPACE": settings.operator_namespace,
           "PORT": str(settings.port), "LIVENESS_PORT": str(settings.liveness_port),
           "LEADER_ELECTION": "true", "LEADER_IDENTITY": settings.leader_identity,
           "LEASE_S": "30", "LEASE_RENEW_S": "1", "LEASE_RENEW_DEADLINE_S": "10",
           "RETRY_DELAY_S": "0.3", "RETRY_MAX_DELAY_S": "1", "CONSISTENCY_TIMEOUT_S": "0.2",
           "WORKER_IMAGE": settings.worker_image, "WORKER_ENV_SECRET": "triage-common"}
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "triage_operator", env=env, stdout=out,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        async def answers() -> bool:
            assert process.returncode is None, f"the operator exited; its log: {log}"
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                return (await status_of(settings.port))["code"] == 200
            return False
        await eventually(answers, 60)
        yield process
    finally:
        await stop_group_async(process, 20)


async def test_only_the_leading_operator_reconciles_until_it_goes(k8s, nats_server, tmp_path
                                                                  ) -> None:
    """Two replicas, each its own process (kopf cancels every task of its event loop it
    did not find there when it stops, kmock's included, so operators cannot share a test's
    loop). The first leads and reconciles; the second stands by, reconciling nothing, and
    acts once the first has stopped (SIGTERM: it releases the lease on its way out)."""
    password = nats_server.password("operator")
    first, second = (k8s.settings(nats_server.url, leader_identity=name)
                     for name in ("operator-a", "operator-b"))
    async with contextlib.AsyncExitStack() as replica_b:
        async with operator_process(first, password, tmp_path / "a.log"):
            await eventually(lambda: leads(first.port), 60)
            await replica_b.enter_async_context(
                operator_process(second, password, tmp_path / "b.log"))
            assert (await status_of(second.port))["status"] == "standby"
            await k8s.api("POST", body=k8s.workspace("acme", team="T0001"))
            await k8s.eventually(lambda: k8s.is_ready("acme"), within=60)
            assert (await status_of(second.port))["status"] == "standby"
            await metric_is(second.port, "triage_operator_leader 0.0")
            assert not reconciles(await metrics(second.port))
        await eventually(lambda: leads(second.port), 20)  # released: long before 30 s
        await k8s.api("POST", body=k8s.workspace("beta", team="T0002"))
        await k8s.eventually(lambda: k8s.is_ready("beta"), within=60)
        assert reconciles(await metrics(second.port))
    assert nats_server.violations() == []


def reconciles(exposition: str) -> list[str]:
    return [line for line in exposition.splitlines()
            if line.startswith('triage_operator_reconciles_total{handler="reconcile"')]


async def metrics(port: int) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            return await resp.text()


async def metric_is(port: int, line: str) -> None:
    assert line in (await metrics(port)).splitlines()


async def leads(port: int) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        return "triage_operator_leader 1.0" in (await metrics(port)).splitlines()
    return False


async def test_a_replica_that_loses_the_lease_stops_operating(k8s, nats_server) -> None:
    """Its lease taken (another replica after a partition), the operator's run ends with
    LeadershipLost, so the pod restarts as a standby instead of acting beside the new
    leader."""
    settings = k8s.settings(nats_server.url, nats_user="operator",
                            nats_password=nats_server.password("operator"),
                            leader_election=True, leader_identity="operator-a", lease_s=2.0,
                            lease_renew_s=0.5, lease_renew_deadline_s=1.0)
    task = asyncio.create_task(run(settings))
    async with electors(nats_server, "operator-b") as (usurper,):
        try:
            await k8s.eventually_async(lambda: leads(settings.port))
            kv, key = await usurper._bucket(), lease_key(settings.operator_namespace)

            async def taken() -> bool:  # compare-and-set: retried if a renewal came first
                entry = await kv.get(key)
                with contextlib.suppress(KeyWrongLastSequenceError):
                    await kv.update(key, b'{"holder":"operator-b","lease_s":2}',
                                    last=entry.revision)
                    return True
                return False
            await eventually(taken, 30)
            with pytest.raises(LeadershipLost):
                await asyncio.wait_for(task, 30)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeadershipLost):
                await task


async def test_a_standby_that_cannot_read_the_lease_is_alive_but_not_ready(k8s) -> None:
    """NATS away: /healthz stays 200 (a restart would not help) and /readyz is 503 with
    the reason, so `kubectl get pods` shows the standby cannot take over."""
    down = NatsServer(test_admin=True)  # its port is reserved, nothing listens
    settings = k8s.settings(down.url, leader_election=True, leader_identity="operator-a")
    task = asyncio.create_task(run(settings))
    try:
        async def not_ready() -> dict[str, Any] | None:
            with contextlib.suppress(aiohttp.ClientError):
                async with aiohttp.ClientSession() as session:
                    url = f"http://127.0.0.1:{settings.port}/readyz"
                    async with session.get(url) as resp:
                        body: dict[str, Any] = await resp.json()
                        return body if resp.status == 503 and body.get("error") else None
            return None
        body = await eventually(not_ready, 60)
        assert body["status"] == "standby"
        assert (await status_of(settings.port)) == {"code": 200, "status": "standby"}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
