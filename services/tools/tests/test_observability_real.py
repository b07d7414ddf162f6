"""The observability connectors against the REAL servers (Debian packages `prometheus` and
`prometheus-alertmanager`), so the stand-in's shapes are checked against the originals.
Missing binaries FAIL (not skip): CI must install them."""

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from triage_contracts.messages import ToolStatus
from triage_contracts.testing.natsserver import free_port, stop_group, wait_for_port
from triage_sandbox.prometheus_api import build_prometheus_api
from triage_tools.catalog import build_registry
from triage_tools.errors import ToolError
from triage_tools.registry import CallContext
from triage_tools.settings import Settings

CTX = CallContext("T1", "r-real", "s1")
# One alert firing at once, one that would need an hour: Prometheus keeps it pending.
RULES = """groups:
  - name: tools-test
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: page}
        annotations: {summary: fires at the first evaluation}
      - alert: SlowToFire
        expr: vector(2) > 0
        for: 1h
"""


def binary(*names: str, package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed: run `apt-get install -y {package}` "
                "(CI must install it; these tests use the real server)")


def start(argv: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for_port(port, timeout=20)
    except TimeoutError:
        stop_group(proc)
        raise AssertionError(f"{argv[0]} did not start:\n{log.read_text()[-2000:]}") from None
    return proc


@pytest.fixture
def prometheus_url(tmp_path: Path) -> Iterator[str]:
    exe = binary("prometheus", package="prometheus")
    port = free_port()
    config, rules = tmp_path / "prometheus.yml", tmp_path / "rules.yml"
    rules.write_text(RULES)
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: ['{rules}']\n"
        "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n")
    proc = start([exe, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                  f"--web.listen-address=127.0.0.1:{port}"], port, tmp_path / "prom.log")
    yield f"http://127.0.0.1:{port}"
    stop_group(proc)


@pytest.fixture
def alertmanager_url(tmp_path: Path) -> Iterator[str]:
    exe = binary("prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager")
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n")
    proc = start([exe, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
                  f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                 port, tmp_path / "am.log")
    yield f"http://127.0.0.1:{port}"
    stop_group(proc)


async def eventually(run: Any, done: Any, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await run()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.5)


async def test_prometheus_query_against_a_real_prometheus(prometheus_url: str) -> None:
    registry = build_registry(Settings(prometheus_url=prometheus_url, tool_timeout_s=5))
    tool = registry.get("prometheus.query")
    args = registry.parse(tool, {"query": "up"})
    # The first scrape lands a second or so after start: until then `up` has no samples.
    status, data = await eventually(lambda: registry.invoke(tool, args, CTX),
                                    lambda answer: answer[0] == ToolStatus.SUCCESS)
    assert status == ToolStatus.SUCCESS
    assert data["resultType"] == "vector"
    [sample] = data["result"]
    assert sample["metric"]["job"] == "prometheus" and sample["metric"]["__name__"] == "up"
    assert sample["value"][1] == "1"

    missing = registry.parse(tool, {"query": 'up{job="nothing-scrapes-this"}'})
    assert await registry.invoke(tool, missing, CTX) == (
        ToolStatus.NO_DATA, {"resultType": "vector", "result": []})
    broken = registry.parse(tool, {"query": 'up{job="prometheus"'})
    with pytest.raises(ToolError, match="bad_data.*end of input inside braces"):
        await registry.invoke(tool, broken, CTX)


def caller(registry: Any) -> Any:
    async def call(name: str, arguments: dict[str, Any]) -> Any:
        tool = registry.get(name)
        return await registry.invoke(tool, registry.parse(tool, arguments), CTX)

    return call


async def test_range_series_and_labels_against_a_real_prometheus(prometheus_url: str) -> None:
    call = caller(build_registry(Settings(prometheus_url=prometheus_url, tool_timeout_s=5)))
    status, data = await eventually(
        lambda: call("prometheus.query_range", {"query": "up", "range": "1m", "step": "1s"}),
        lambda answer: answer[0] == ToolStatus.SUCCESS and len(
            answer[1]["result"][0]["values"]) >= 2)
    assert status == ToolStatus.SUCCESS and data["resultType"] == "matrix"
    [series] = data["result"]
    assert series["metric"]["job"] == "prometheus" and series["values"][-1][1] == "1"
    assert data["step"] == "1s" and data["start"] < data["end"]
    with pytest.raises(ToolError, match="exceeded maximum resolution of 11,000 points.*"
                                        "use a larger `step` or a shorter `range`"):
        await call("prometheus.query_range", {"query": "up", "range": "1w", "step": "1s"})

    status, found = await call("prometheus.series", {"match": "up"})
    assert status == ToolStatus.SUCCESS and found["total"] == 1
    assert found["series"][0]["job"] == "prometheus"
    status, jobs = await call("prometheus.label_values", {"label": "job", "match": "up"})
    assert jobs == {"label": "job", "values": ["prometheus"], "total": 1}
    with pytest.raises(ToolError, match="bad_data"):
        await call("prometheus.series", {"match": 'up{job="prometheus"'})

    long_ago = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    assert await call("prometheus.query", {"query": "up", "time": long_ago}) == (
        ToolStatus.NO_DATA, {"resultType": "vector", "result": []})


async def test_rule_alerts_against_a_real_prometheus(prometheus_url: str) -> None:
    call = caller(build_registry(Settings(prometheus_url=prometheus_url, tool_timeout_s=5)))
    status, firing = await eventually(lambda: call("prometheus.alerts", {}),
                                      lambda answer: answer[0] == ToolStatus.SUCCESS)
    assert status == ToolStatus.SUCCESS
    [alert] = firing
    assert alert["labels"] == {"alertname": "AlwaysFiring", "severity": "page"}
    assert alert["annotations"] == {"summary": "fires at the first evaluation"}
    assert alert["state"] == "firing" and alert["activeAt"] and float(alert["value"]) == 1
    status, pending = await call("prometheus.alerts", {"state": "pending"})
    assert [a["labels"]["alertname"] for a in pending] == ["SlowToFire"]
    status, every = await call("prometheus.alerts", {"state": "all"})
    assert len(every) == 2


@pytest.mark.parametrize("query", [
    'sum(rate(http_requests_total{service="checkout-api"}[5m])', 'up{service="x"',
    "rate(up[5m]))", "", 'up{a="b}', "up}", "up[5m",
])
async def test_the_standin_rejects_broken_promql_like_prometheus(
    prometheus_url: str, query: str
) -> None:
    standin = httpx.ASGITransport(app=build_prometheus_api())
    async with httpx.AsyncClient(base_url=prometheus_url) as real, httpx.AsyncClient(
            transport=standin, base_url="http://standin") as fake:
        expected = await real.get("/api/v1/query", params={"query": query})
        answered = await fake.get("/api/v1/query", params={"query": query})
    assert expected.status_code == 400
    assert (answered.status_code, answered.json()) == (400, expected.json())


async def test_alertmanager_alerts_against_a_real_alertmanager(alertmanager_url: str) -> None:
    alert = {"labels": {"alertname": "CheckoutErrorRate", "service": "checkout-api",
                        "severity": "page"},
             "annotations": {"summary": "checkout-api 5xx ratio above 5%"},
             "startsAt": datetime.now(UTC).isoformat(),
             "generatorURL": "http://prometheus.example/graph"}
    async with httpx.AsyncClient(base_url=alertmanager_url) as client:
        (await client.post("/api/v2/alerts", json=[alert])).raise_for_status()
    registry = build_registry(Settings(alertmanager_url=alertmanager_url, tool_timeout_s=5))
    tool = registry.get("alertmanager.alerts")
    args = registry.parse(tool, {})
    status, data = await eventually(lambda: registry.invoke(tool, args, CTX),
                                    lambda answer: answer[0] == ToolStatus.SUCCESS)
    assert status == ToolStatus.SUCCESS
    [found] = data
    assert found["labels"]["alertname"] == "CheckoutErrorRate"
    assert found["annotations"]["summary"] == "checkout-api 5xx ratio above 5%"
    assert found["state"] == "active" and found["fingerprint"]


async def test_alertmanager_filters_against_a_real_alertmanager(alertmanager_url: str) -> None:
    now = datetime.now(UTC).isoformat()
    alerts = [{"labels": {"alertname": "HighErrorRate", "service": service},
               "annotations": {"summary": f"{service} errors"}, "startsAt": now}
              for service in ("checkout-api", "payments-api")]
    async with httpx.AsyncClient(base_url=alertmanager_url) as client:
        (await client.post("/api/v2/alerts", json=alerts)).raise_for_status()
    call = caller(build_registry(Settings(alertmanager_url=alertmanager_url, tool_timeout_s=5)))
    args = {"filter": ['service="payments-api"', "alertname=~High.*"]}
    status, found = await eventually(lambda: call("alertmanager.alerts", args),
                                     lambda answer: answer[0] == ToolStatus.SUCCESS)
    assert [a["labels"]["service"] for a in found] == ["payments-api"]
    assert found[0]["startsAt"] and found[0]["state"] == "active"
    with pytest.raises(ToolError, match="Alertmanager answered 400: bad matcher format"):
        await call("alertmanager.alerts", {"filter": ["service"]})
