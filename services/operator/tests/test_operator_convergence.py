"""The operator converges and never fights the cluster: on a real three-node NATS cluster
with R3 streams, reconciles, periodic resyncs and the provisioner run again (as every
`helm upgrade` does) leave every stream at three replicas. (The operator once
re-provisioned every stream at its default of one replica on each reconcile.)"""

import os
import subprocess
import sys

import nats
from nats.js.errors import ServiceUnavailableError
from triage_contracts.streams import provision_patiently
from triage_contracts.testing.natscluster import NatsCluster


async def replicas(url: str) -> dict[str, int]:
    nc = await nats.connect(url)
    try:
        return {info.config.name: info.config.num_replicas
                for info in await nc.jetstream().streams_info()}
    finally:
        await nc.close()


async def provisioned(url: str, count: int) -> bool:
    """Provision at `count` replicas; False while the cluster still elects its leaders."""
    nc = await nats.connect(url)
    try:
        await provision_patiently(nc.jetstream(timeout=10), count)
        return True
    except (ServiceUnavailableError, TimeoutError):
        return False
    finally:
        await nc.close()


def run_provisioner(url: str) -> None:
    """`python -m triage_contracts.provision` as the chart's Job runs it, here without
    NATS_REPLICAS: it must keep the count the streams have."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NATS_USER", "NATS_PASSWORD", "NATS_REPLICAS")}
    env |= {"NATS_URL": url, "ENVIRONMENT": "development"}
    done = subprocess.run([sys.executable, "-m", "triage_contracts.provision"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


async def test_r3_streams_stay_r3_through_reconciles_resyncs_and_provisioning(k8s):
    with NatsCluster() as cluster:
        await k8s.eventually_async(lambda: provisioned(cluster.admin_url, 3), within=60)
        before = await replicas(cluster.admin_url)
        assert set(before.values()) == {3}

        settings = k8s.settings(cluster.first_url, resync_interval_s=0.5)
        async with k8s.operator(settings):
            await k8s.api("POST", body=k8s.workspace("acme"))
            await k8s.eventually(lambda: k8s.is_ready("acme"), within=60)
            async def resynced_twice() -> bool:  # drift repair ran twice over
                return await k8s.runs(settings.port, "resync") >= 2

            await k8s.eventually_async(resynced_twice, within=60)
            assert await replicas(cluster.admin_url) == before

        run_provisioner(cluster.url)
        assert await replicas(cluster.admin_url) == before

