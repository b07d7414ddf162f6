"""The 3-node test cluster the fault suite runs on: provisioned R3, a stream's leader found
through the monitor, that node SIGKILLed (another node leads, and a replicated stream
keeps taking acknowledged writes), then started again on its own store."""

import asyncio
import socket
import time
from pathlib import Path

import nats
import pytest
from nats.js.errors import BadRequestError
from triage_contracts.testing.natscluster import NatsCluster
from triage_contracts.testing.natsserver import free_port, port_is_free


async def _publish_and_count(url: str, stream: str, subject: str) -> tuple[int, int]:
    nc = await nats.connect(url.split(","), max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await js.publish(subject, b"{}", timeout=10)
        info = await js.stream_info(stream)
        return info.config.num_replicas or 0, info.state.messages
    finally:
        await nc.close()


def _leader_other_than(cluster: NatsCluster, dead: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leader = cluster.leader_of("EVENTS")
        if leader is not None and leader != dead:
            return leader
        time.sleep(0.2)
    raise AssertionError(f"no new EVENTS leader within {timeout}s")


def test_the_stream_leader_is_killed_and_restarted() -> None:
    with NatsCluster(sync_interval="always") as cluster:
        cluster.provision(replicas=3)
        url = ",".join(f"nats://test-admin:{cluster.admin_password}@127.0.0.1:{n.port}"
                       for n in cluster.nodes)
        subject = "triage.event.T1.mention"
        assert asyncio.run(_publish_and_count(url, "EVENTS", subject)) == (3, 1)
        leader = cluster.leader_of("EVENTS")
        assert leader is not None
        cluster.kill_node(leader)
        assert _leader_other_than(cluster, leader) != leader
        assert asyncio.run(_publish_and_count(url, "EVENTS", subject)) == (3, 2)
        cluster.start_node(leader)
        assert cluster.nodes[leader].process is not None
        assert cluster.nodes[leader].process.poll() is None


def test_listening_ports_come_from_below_the_ephemeral_range_and_are_not_repeated() -> None:
    """A port from the kernel's ephemeral range can be taken by an outgoing connection
    between the pick and the child's bind; the picks avoid it and never repeat."""
    low, _high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range")
                  .read_text().split())
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 < port < low for port in ports)
    with socket.socket() as sock:  # a port a listener holds is never handed out
        sock.bind(("127.0.0.1", ports[0]))
        assert not port_is_free(ports[0])


def test_a_frozen_leader_is_replaced_and_thaws_back_into_the_cluster() -> None:
    """The partition stand-in: SIGSTOP keeps the node's sockets open but silent; the
    others elect a leader and keep taking writes, and SIGCONT brings it back current."""
    with NatsCluster(sync_interval="always") as cluster:
        cluster.provision(replicas=3)
        url = ",".join(f"nats://test-admin:{cluster.admin_password}@127.0.0.1:{n.port}"
                       for n in cluster.nodes)
        subject = "triage.event.T1.mention"
        leader = cluster.leader_of("EVENTS")
        assert leader is not None
        cluster.freeze_node(leader)
        try:
            assert _leader_other_than(cluster, leader, timeout=60) != leader
            assert asyncio.run(_publish_and_count(url, "EVENTS", subject)) == (3, 1)
        finally:
            cluster.thaw_node(leader)  # waits until it is current with the meta leader
        process = cluster.nodes[leader].process
        assert process is not None and process.poll() is None


@pytest.mark.timeout(180)
def test_more_replicas_than_servers_fails_at_once_with_the_servers_reason() -> None:
    """The provisioner waits out peers the meta leader has not heard from yet, but not a
    count the cluster can never place (if it waited, the test's timeout would end it)."""
    with NatsCluster() as cluster:
        with pytest.raises(BadRequestError, match="no suitable peers for placement"):
            cluster.provision(replicas=5, timeout=600)
        cluster.provision(replicas=3)
        assert asyncio.run(_publish_and_count(
            cluster.admin_url, "EVENTS", "triage.event.T1.mention")) == (3, 1)
