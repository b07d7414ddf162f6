"""The Prometheus and Alertmanager stand-ins against the REAL servers (Debian packages
`prometheus` and `prometheus-alertmanager`): the same alert, and the same bad requests,
must come back in the same shape and with the same error texts. Missing binaries FAIL
(not skip): CI must install them, as for the tools service's real-server tests."""

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from triage_contracts.testing.natsserver import free_port, stop_group, wait_for_port
from triage_sandbox.alertmanager_api import build_alertmanager_api
from triage_sandbox.prometheus_api import build_prometheus_api
from triage_sandbox.world import load_world

EXPR = "vector(0.0712) > 0.05"
LABELS = {"service": "checkout-api", "severity": "critical", "team": "checkout"}
ANNOTATIONS = {"summary": "checkout-api 5xx ratio above 5%"}


def _binary(*names: str, package: str) -> str:
    found = next((p for n in names if (p := shutil.which(n))), None)
    if found is None:
        pytest.fail(f"{names[0]} is not installed: run `apt-get install -y {package}`")
    return found


def _start(argv: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for_port(port, timeout=20)
    except TimeoutError:
        stop_group(proc)
        raise AssertionError(f"{argv[0]} did not start:\n{log.read_text()[-2000:]}") from None
    return proc


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real Prometheus whose one alerting rule fires at once, sending to a real
    Alertmanager; (prometheus_url, alertmanager_url)."""
    tmp = tmp_path_factory.mktemp("real")
    prom_exe = _binary("prometheus", package="prometheus")
    am_exe = _binary("prometheus-alertmanager", "alertmanager",
                     package="prometheus-alertmanager")
    prom_port, am_port = free_port(), free_port()
    (tmp / "am.yml").write_text("route:\n  receiver: oncall\nreceivers:\n  - name: oncall\n")
    rule = {"alert": "HighErrorRate", "expr": EXPR, "labels": LABELS,
            "annotations": ANNOTATIONS}
    (tmp / "rules.yml").write_text(json.dumps({"groups": [{"name": "demo",
                                                           "rules": [rule]}]}))
    (tmp / "prom.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [
            {"targets": [f"127.0.0.1:{am_port}"]}]}]}}))
    am = _start([am_exe, f"--config.file={tmp / 'am.yml'}", f"--storage.path={tmp / 'am'}",
                 f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                am_port, tmp / "am.log")
    prom_url = f"http://127.0.0.1:{prom_port}"
    prom = _start([prom_exe, f"--config.file={tmp / 'prom.yml'}",
                   f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.external-url={prom_url}",
                   # The first send precedes Alertmanager's discovery and is dropped: resend
                   # within a second, not the default minute.
                   "--rules.alert.resend-delay=1s",
                   f"--web.listen-address=127.0.0.1:{prom_port}"], prom_port, tmp / "p.log")
    try:
        yield prom_url, f"http://127.0.0.1:{am_port}"
    finally:
        stop_group(prom)
        stop_group(am)


def _world(tmp: Path) -> Any:
    """A world whose one alert is the real Prometheus's rule."""
    path = tmp / "world.json"
    path.write_text(json.dumps({"alerts": [{
        "name": "HighErrorRate", "expr": EXPR, "labels": LABELS, "annotations": ANNOTATIONS,
        "active": "-10m", "value": 0.0712, "receivers": ["oncall"]}]}))
    return load_world(path)


def _eventually(get: Callable[[], Any], within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = get()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _get(app_or_url: FastAPI | str, path: str, params: Any = None) -> httpx.Response:
    if isinstance(app_or_url, str):
        return httpx.get(app_or_url + path, params=params, timeout=10)
    with TestClient(app_or_url) as client:
        return client.get(path, params=params)


def test_prometheus_alerts_match(real: tuple[str, str], tmp_path: Path) -> None:
    prom_url, _ = real
    [expected] = _eventually(lambda: [
        a for a in _get(prom_url, "/api/v1/alerts").json()["data"]["alerts"]
        if a["state"] == "firing"])
    [answered] = _get(build_prometheus_api(_world(tmp_path)), "/api/v1/alerts").json()[
        "data"]["alerts"]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"
    assert re.fullmatch(stamp, expected.pop("activeAt"))
    assert re.fullmatch(stamp, answered.pop("activeAt"))
    assert answered == expected


def test_alertmanager_alerts_match(real: tuple[str, str], tmp_path: Path) -> None:
    prom_url, am_url = real
    [expected] = _eventually(lambda: _get(am_url, "/api/v2/alerts").json())
    app = build_alertmanager_api(_world(tmp_path), generator_base=prom_url)
    [answered] = _get(app, "/api/v2/alerts").json()
    assert list(answered) == list(expected)  # same keys, same order
    for stamp in ("startsAt", "updatedAt", "endsAt"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expected.pop(stamp))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", answered.pop(stamp))
    assert answered == expected  # labels, fingerprint, generatorURL, receivers, status


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/series", {}),
    ("/api/v1/series", {"match[]": '{job=~".*"}'}),
    ("/api/v1/series", {"match[]": "rate(up[5m])"}),
    ("/api/v1/series", {"match[]": "up{"}),
    ("/api/v1/series", {"match[]": "nothing_like_this"}),
    ("/api/v1/label/a-b/values", {}),
    ("/api/v1/label/job/values", {"match[]": "nothing_like_this"}),
    ("/api/v1/query", {"query": "nothing_like_this"}),
    ("/api/v1/query_range", {"query": "up", "start": "10", "end": "5", "step": "1"}),
    ("/api/v1/query_range", {"query": "up", "start": "1", "end": "5", "step": "0"}),
    ("/api/v1/query_range", {"query": "up", "start": "1", "end": "5"}),
    ("/api/v1/query_range", {"query": "up", "end": "5", "step": "1"}),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "100000", "step": "1"}),
    ("/api/v1/query_range", {"query": "nothing_like_this", "start": "1", "end": "5",
                             "step": "1"}),
])
def test_prometheus_answers_the_same(real: tuple[str, str], tmp_path: Path, path: str,
                                     params: dict[str, str]) -> None:
    expected = _get(real[0], path, params)
    answered = _get(build_prometheus_api(_world(tmp_path)), path, params)
    assert (answered.status_code, answered.json()) == (expected.status_code, expected.json())


@pytest.mark.parametrize("matcher", ['service="', '{alertname="x"}', "foo",
                                     'alertname="nothing"'])
def test_alertmanager_filters_answer_the_same(real: tuple[str, str], tmp_path: Path,
                                              matcher: str) -> None:
    expected = _get(real[1], "/api/v2/alerts", {"filter": matcher})
    answered = _get(build_alertmanager_api(_world(tmp_path)), "/api/v2/alerts",
                    {"filter": matcher})
    assert (answered.status_code, answered.json()) == (expected.status_code, expected.json())
