"""Provisioning is the provisioner's alone: `python -m triage_contracts.provision` creates
every stream, bucket and object store (idempotently), a service identity cannot, and a
service started before it stops with a message that says what to run."""

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import nats
import pytest
from fastapi import FastAPI
from nats.aio.msg import Msg
from triage_contracts.broker import build_broker
from triage_contracts.consume import subscribe
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan
from triage_contracts.settings import ServiceSettings
from triage_contracts.streams import STREAMS, Buckets, Consumers, ObjectStores, provision
from triage_contracts.testing.natsserver import NatsServer

EXPECTED = ({spec.name for spec in STREAMS} | {f"KV_{b.name}" for b in Buckets.all()}
            | {f"OBJ_{o.name}" for o in ObjectStores.all()})


class Audit(ServiceSettings):
    nats_identity: ClassVar[str] = "audit"


@pytest.fixture
def bare() -> Iterator[NatsServer]:
    """A server with the matrix enforced and nothing provisioned yet."""
    with NatsServer(test_admin=True, provision=False) as server:
        yield server


async def stream_names(server: NatsServer) -> set[str]:
    nc = await nats.connect(server.admin_url)
    try:
        return {info.config.name for info in await nc.jetstream().streams_info()}
    finally:
        await nc.close()


def run_provisioner(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "triage_contracts.provision"], env=env,
                          capture_output=True, text=True, timeout=60)


async def test_the_provisioner_command_creates_everything_twice_over(bare: NatsServer) -> None:
    assert await stream_names(bare) == set()
    env = {key: value for key, value in os.environ.items()
           if key not in ("NATS_USER", "NATS_PASSWORD")}
    env |= {"NATS_URL": bare.url, "ENVIRONMENT": "development"}
    for _ in range(2):  # an upgrade runs it again: idempotent
        done = run_provisioner(env)
        assert done.returncode == 0, done.stderr
    assert await stream_names(bare) == EXPECTED


async def test_a_service_identity_may_not_provision(bare: NatsServer) -> None:
    auth = nats_auth(Audit(_env_file=None))  # type: ignore[call-arg]
    nc = await nats.connect(bare.url, **auth.connect_options())
    try:
        with pytest.raises(nats.errors.Error):  # the request is refused: no answer comes
            await provision(nc.jetstream(timeout=1.0))
    finally:
        await nc.close()
    assert await stream_names(bare) == set()


async def test_a_service_started_before_the_provisioner_says_what_to_run(
        bare: NatsServer) -> None:
    settings = Audit(_env_file=None, nats_url=bare.url)  # type: ignore[call-arg]
    broker = build_broker(settings.nats_url, "audit", auth=nats_auth(settings))

    @subscribe(broker, Consumers.AUDIT)
    async def handle(_: dict[str, str]) -> None:  # never called: the stream is missing
        raise AssertionError("consumed from a stream that does not exist")

    lifespan = broker_lifespan(broker, settings)(FastAPI())
    with pytest.raises(RuntimeError, match="run the provisioner first"):
        await lifespan.__aenter__()
    await broker.stop()


async def updates_during(server: NatsServer, work: Any) -> list[str]:
    """The streams JetStream reports updated (advisories) while `work(js)` runs. A marker
    update made afterwards closes the window: advisories arrive in order, so once the
    marker's is in, every earlier one is too (no timed wait for "nothing more")."""
    nc = await nats.connect(server.admin_url)
    seen: list[str] = []
    marker, name = asyncio.Event(), f"MARKER_{secrets.token_hex(4)}"

    async def on_update(msg: Msg) -> None:
        seen.append(msg.subject.rsplit(".", 1)[-1])
        if seen[-1] == name:
            marker.set()

    try:
        js = nc.jetstream()
        await js.add_stream(name=name, subjects=[f"{name}.>"])
        await nc.subscribe("$JS.EVENT.ADVISORY.STREAM.UPDATED.>", cb=on_update)
        await nc.flush()
        await work(js)
        await js.update_stream(name=name, subjects=[f"{name}.>"], max_msgs=10)
        await asyncio.wait_for(marker.wait(), timeout=30)
    finally:
        await nc.close()
    return seen[:-1]


async def test_provisioning_again_writes_nothing_and_heals_only_drift(bare: NatsServer) -> None:
    """An update of a replicated stream is a cluster-wide operation: equal configs are
    never written again, a drifted field is the only one changed, and a run without a
    replica count keeps the count a stream has."""
    assert await updates_during(bare, lambda js: provision(js, 1)) == []  # created only
    assert await updates_during(bare, lambda js: provision(js, 1)) == []
    assert await updates_during(bare, provision) == []  # no count given: nothing lowered

    async def drift_then_provision(js: Any) -> None:
        info = await js.stream_info("EVENTS")
        info.config.max_age, info.config.max_bytes = 2 * 86400.0, 1 << 30  # by hand
        await js.update_stream(info.config)
        await provision(js, 1)

    assert await updates_during(bare, drift_then_provision) == ["EVENTS", "EVENTS"]
    nc = await nats.connect(bare.admin_url)
    info = await nc.jetstream().stream_info("EVENTS")
    await nc.close()
    assert info.config.max_age == STREAMS[0].max_age  # healed
    assert info.config.max_bytes == 1 << 30  # not ours: kept
