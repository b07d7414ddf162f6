"""nats-values.yaml configures the official NATS chart for the triage services (3-node
JetStream cluster, file storage, fsync before every ack), and what the KEDA triggers read
exists on a real nats-server: the monitoring endpoint's /jsz lists the very stream/consumer
pairs the ScaledObjects name, with their pending count."""

import asyncio
import json
import os
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from chartkit import CHART, load_values
from triage_contracts import subjects
from triage_contracts.natsconfig import chart_values
from triage_contracts.permissions import TEST_ADMIN
from triage_contracts.streams import Consumers, provision_consumer, provision_streams
from triage_contracts.testing.natsserver import NatsServer, custom_server, free_port

NATS_VALUES = yaml.safe_load((CHART / "nats-values.yaml").read_text())
CHART_VALUES = yaml.safe_load((CHART / "values.yaml").read_text())


def test_jetstream_cluster_with_file_storage_and_fsync_always() -> None:
    config = NATS_VALUES["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["memoryStore"] == {"enabled": False}
    assert jetstream["fileStore"]["enabled"] is True and jetstream["fileStore"]["pvc"]["enabled"]
    assert jetstream["merge"] == {"sync_interval": "always"}
    # The triage streams' replicas fit the cluster, and KEDA reads its monitoring port.
    assert CHART_VALUES["nats"]["streamReplicas"] <= config["cluster"]["replicas"]
    assert config["monitor"] == {"enabled": True, "port": 8222}
    assert CHART_VALUES["nats"]["monitoringEndpoint"].endswith(":8222")


def test_keda_asks_each_node_at_a_name_the_headless_service_resolves() -> None:
    """KEDA's nats-jetstream scaler, on a cluster, asks every node at `<node>.<endpoint
    host>`, the node being its server name (the official chart names servers after their
    pods). A StatefulSet pod has a DNS name only under its headless Service
    (`<pod>.<release>-headless.<ns>.svc.cluster.local`), which is also the only Service
    serving the monitor port: the endpoint must be that Service."""
    release, namespace = re.search(r"helm install (\S+) nats/nats --namespace (\S+)",
                                   (CHART / "nats-values.yaml").read_text()).groups()
    host, port = CHART_VALUES["nats"]["monitoringEndpoint"].rsplit(":", 1)
    assert port == str(NATS_VALUES["config"]["monitor"]["port"])
    for index in range(NATS_VALUES["config"]["cluster"]["replicas"]):
        pod = f"{release}-{index}"
        scaler_asks = f"{pod}.{host}"
        assert scaler_asks == f"{pod}.{release}-headless.{namespace}.svc.cluster.local"
    keda = load_values("keda")["nats"]["monitoringEndpoint"]
    assert keda == CHART_VALUES["nats"]["monitoringEndpoint"]


def test_nats_is_not_a_chart_dependency() -> None:
    """The official chart cannot be fetched while rendering: it is installed separately."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert "dependencies" not in chart
    assert not (CHART / "charts").exists() and not (CHART / "Chart.lock").exists()


@pytest.fixture
def configured_server(tmp_path: Path) -> Iterator[int]:
    """A real nats-server whose jetstream block is exactly nats-values.yaml's `merge`."""
    port, monitor = free_port(), free_port()
    merged = "\n".join(f"  {key}: {value}"
                       for key, value in NATS_VALUES["config"]["jetstream"]["merge"].items())
    config = (f"listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor}\n"
              f"jetstream {{\n  store_dir: \"{tmp_path / 'js'}\"\n{merged}\n}}\n")
    with custom_server(config, tmp_path, monitor):
        yield monitor


def monitoring(port: int, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return json.loads(resp.read())


def test_the_committed_authorization_is_the_rendered_matrix() -> None:
    """Regenerate with `python -m triage_contracts.natsconfig render` when this fails."""
    rendered = chart_values()
    assert NATS_VALUES["config"]["merge"] == rendered["config"]["merge"]
    assert NATS_VALUES["container"]["env"] == rendered["container"]["env"]
    assert TEST_ADMIN not in json.dumps(NATS_VALUES)


@pytest.fixture
def chart_auth_server(tmp_path: Path) -> Iterator[int]:
    """A real nats-server on the chart's users, passwords from its environment (`<< $X >>`
    is the chart's way to write the bare variable reference `$X`)."""
    users = json.dumps(NATS_VALUES["config"]["merge"]["authorization"])
    users = re.sub(r'"<< (\$NATS_PASSWORD_[A-Z_]+) >>"', r"\1", users)
    env = {**os.environ,
           **{name: f"pw-{name.lower()}" for name in NATS_VALUES["container"]["env"]}}
    port = free_port()
    config = (f"listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: \"{tmp_path}/js\"\n}}\n"
              f"authorization: {users}\n")
    with custom_server(config, tmp_path, port, env):
        yield port


async def test_real_server_enforces_the_chart_authorization(chart_auth_server: int) -> None:
    url = f"nats://127.0.0.1:{chart_auth_server}"
    denied: list[str] = []

    async def on_error(exc: Exception) -> None:
        denied.append(str(exc))

    tools = await nats.connect(url, user="tools", password="pw-nats_password_tools",
                               error_cb=on_error)
    await tools.publish(subjects.approval_decision("T1"), b"{}")  # approval's alone
    await tools.flush()
    await wait_until(lambda: bool(denied))
    assert "permissions violation" in denied[0].lower()
    await tools.close()
    with pytest.raises(nats.errors.Error):
        await nats.connect(url, user="tools", password="wrong", allow_reconnect=False,
                           max_reconnect_attempts=0)


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_real_server_accepts_the_merged_jetstream_config(configured_server: int) -> None:
    jetstream = monitoring(configured_server, "/varz")["jetstream"]["config"]
    assert jetstream["sync_always"] is True


async def test_keda_triggers_read_consumers_that_exist(render, nats_server: NatsServer) -> None:
    rendered = await render(load_values("keda"))
    triggers = [trigger["metadata"] for scaled in rendered.of_kind("ScaledObject")
                for trigger in scaled["spec"]["triggers"]]
    client = await nats.connect(nats_server.admin_url)
    try:
        js = client.jetstream()
        await provision_streams(js)
        for spec in Consumers.all():  # what the services create at start
            await provision_consumer(js, spec)
        # One model call waiting: the router consumer's lag is 1.
        await js.publish(subjects.work("model", "T0ACME", "draft"), b"{}")
    finally:
        await client.close()
    # The query KEDA's nats-jetstream scaler makes against natsServerMonitoringEndpoint.
    jsz = monitoring(nats_server.monitor_port, "/jsz?accounts=true&consumers=true&config=true")
    (account,) = [a for a in jsz["account_details"] if a["name"] == triggers[0]["account"]]
    pending = {(stream["name"], consumer["name"]): consumer["num_pending"]
               for stream in account["stream_detail"]
               for consumer in stream.get("consumer_detail", [])}
    for trigger in triggers:
        assert (trigger["stream"], trigger["consumer"]) in pending, trigger
    assert pending[("WORK", "router")] == 1
