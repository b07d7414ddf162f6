"""The Prometheus stand-in beyond instant queries: range queries that show the latency
regression, series and label discovery, the alerting rules' alerts, and an unknown
metric answered with an empty result. httpx over the ASGI transport; the shapes are
checked against a real Prometheus in test_shapes_against_real_servers.py."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from triage_sandbox.demo_data import build_demo
from triage_sandbox.prometheus_api import build_prometheus_api

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DEMO = build_demo(NOW)
P99 = 'service:http_request_duration_seconds:p99{service="checkout-api"}'


@pytest.fixture
async def prom() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_prometheus_api(DEMO))
    async with httpx.AsyncClient(transport=transport, base_url="http://prom.sandbox") as c:
        yield c


def ago(hours: float) -> str:
    return str((NOW - timedelta(hours=hours)).timestamp())


async def test_p99_latency_rose_after_yesterdays_cache_deploy(prom: httpx.AsyncClient) -> None:
    body = (await prom.get("/api/v1/query_range", params={
        "query": P99, "start": ago(48), "end": ago(0), "step": "1h"})).json()
    [series] = body["data"]["result"]
    assert series["metric"] == {"__name__": "service:http_request_duration_seconds:p99",
                                "service": "checkout-api"}
    values = {round((NOW.timestamp() - t) / 3600): float(v) for t, v in series["values"]}
    assert len(values) == 49
    assert all(0.29 < values[h] < 0.33 for h in range(30, 49))  # before the deploy
    assert all(0.9 < values[h] < 0.94 for h in range(0, 30))  # after it: ~3x
    payments = (await prom.get("/api/v1/query", params={
        "query": P99.replace("checkout", "payments"), "time": ago(1)})).json()
    assert 0.17 < float(payments["data"]["result"][0]["value"][1]) < 0.19


async def test_an_unknown_metric_is_an_empty_result(prom: httpx.AsyncClient) -> None:
    query = 'histogram_quantile(0.99, sum by (le) (rate(nope_bucket{service="x"}[5m])))'
    instant = (await prom.get("/api/v1/query", params={"query": query})).json()
    assert instant == {"status": "success", "data": {"resultType": "vector", "result": []}}
    ranged = (await prom.get("/api/v1/query_range", params={
        "query": query, "start": ago(2), "end": ago(1), "step": "60"})).json()
    assert ranged == {"status": "success", "data": {"resultType": "matrix", "result": []}}


@pytest.mark.parametrize(("params", "error"), [
    ({"start": "10", "end": "5", "step": "1"},
     'invalid parameter "end": end timestamp must not be before start time'),
    ({"start": "1", "end": "5", "step": "0"},
     'invalid parameter "step": zero or negative query resolution step widths are not '
     "accepted. Try a positive integer"),
    ({"end": "5", "step": "1"}, 'invalid parameter "start": cannot parse "" to a valid '
                                "timestamp"),
    ({"start": "1", "end": "5", "step": "fast"},
     'invalid parameter "step": cannot parse "fast" to a valid duration'),
])
async def test_range_parameters_are_checked_like_prometheus(
    prom: httpx.AsyncClient, params: dict[str, str], error: str
) -> None:
    response = await prom.get("/api/v1/query_range", params={"query": "up", **params})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "errorType": "bad_data", "error": error}


async def test_series_discovery(prom: httpx.AsyncClient) -> None:
    body = (await prom.get("/api/v1/series", params=[
        ("match[]", "up"), ("match[]", '{__name__=~"service:.*:p99"}')])).json()
    assert body["status"] == "success"
    assert sorted((s["__name__"], s["service"]) for s in body["data"]) == [
        ("service:http_request_duration_seconds:p99", "checkout-api"),
        ("service:http_request_duration_seconds:p99", "payments-api"),
        ("up", "checkout-api"), ("up", "payments-api")]
    strict = (await prom.get("/api/v1/series", params={
        "match[]": 'http_requests_total{code="500"}'})).json()
    assert strict["data"] == []  # discovery matches strictly: no such label here
    missing = await prom.get("/api/v1/series")
    assert missing.status_code == 400 and missing.json()["error"] == \
        "no match[] parameter provided"


@pytest.mark.parametrize(("match", "error"), [
    ('{job=~".*"}', 'invalid parameter "match[]": match[] must contain at least one '
                    "non-empty matcher"),
    ("rate(up[5m])", 'invalid parameter "match[]": 1:5: parse error: unexpected "("'),
    ("up{", 'invalid parameter "match[]": 1:4: parse error: unexpected end of input '
            "inside braces"),
])
async def test_bad_selectors_are_bad_data(prom: httpx.AsyncClient, match: str,
                                          error: str) -> None:
    response = await prom.get("/api/v1/series", params={"match[]": match})
    assert response.status_code == 400 and response.json()["error"] == error


async def test_label_names_and_values(prom: httpx.AsyncClient) -> None:
    names = (await prom.get("/api/v1/labels")).json()["data"]
    assert names == sorted(names)
    assert {"__name__", "alertname", "alertstate", "job", "service", "severity"} <= set(names)
    only_up = (await prom.get("/api/v1/labels", params={"match[]": "up"})).json()["data"]
    assert only_up == ["__name__", "job", "service"]
    metrics = (await prom.get("/api/v1/label/__name__/values")).json()["data"]
    assert metrics == ["ALERTS", "http_requests_total",
                       "service:http_request_duration_seconds:p50",
                       "service:http_request_duration_seconds:p99", "up"]
    services = (await prom.get("/api/v1/label/service/values")).json()["data"]
    assert services == ["checkout-api", "payments-api"]
    bad = await prom.get("/api/v1/label/a-b/values")
    assert bad.status_code == 400 and bad.json()["error"] == 'invalid label name: "a-b"'


async def test_alerts_of_the_alerting_rules(prom: httpx.AsyncClient) -> None:
    body = (await prom.get("/api/v1/alerts")).json()
    alerts = {a["labels"]["alertname"]: a for a in body["data"]["alerts"]}
    assert set(alerts) == {"HighErrorRate", "HighLatencyP99", "CertificateExpiringSoon"}
    error_rate = alerts["HighErrorRate"]
    assert error_rate["labels"] == {"alertname": "HighErrorRate", "service": "checkout-api",
                                    "severity": "critical", "team": "checkout"}
    assert error_rate["state"] == "firing"
    assert error_rate["activeAt"] == DEMO.incident_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error_rate["value"].endswith("e-02") and 6.9 < float(error_rate["value"][:4]) < 7.2
    assert error_rate["annotations"]["summary"] == "checkout-api 5xx ratio above 5%"
    assert alerts["CertificateExpiringSoon"]["value"] == "1.25e+01"
    firing = (await prom.get("/api/v1/query", params={
        "query": 'ALERTS{alertstate="firing",service="checkout-api"}'})).json()
    assert sorted(s["metric"]["alertname"] for s in firing["data"]["result"]) == [
        "HighErrorRate", "HighLatencyP99"]
    before = (await prom.get("/api/v1/query", params={
        "query": 'ALERTS{alertname="HighErrorRate"}', "time": ago(5.9)})).json()
    assert before["data"]["result"] == []  # not yet active before the incident
