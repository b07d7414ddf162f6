"""The Prometheus stand-in answers in Prometheus's JSON shapes with the demo error ratios:
checkout-api jumps from ~0.2% to ~7% when the bad commit is deployed; payments-api stays
flat. Pure endpoint tests over httpx's ASGI transport."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from triage_sandbox.demo_data import build_demo
from triage_sandbox.prometheus_api import build_prometheus_api

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DEMO = build_demo(NOW)
RATIO = ('sum(rate(http_requests_total{{service="{svc}",code=~"5.."}}[5m])) / '
         'sum(rate(http_requests_total{{service="{svc}"}}[5m]))')


@pytest.fixture
async def prom() -> AsyncIterator[httpx.AsyncClient]:
    app = build_prometheus_api(DEMO)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://prom.sandbox") as client:
        yield client


def at(delta: timedelta) -> str:
    return str((DEMO.incident_start + delta).timestamp())


async def test_instant_query_has_the_real_vector_shape(prom: httpx.AsyncClient) -> None:
    body = (await prom.get("/api/v1/query", params={
        "query": RATIO.format(svc="checkout-api"), "time": at(timedelta(hours=1))})).json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    [sample] = body["data"]["result"]
    assert sample["metric"]["service"] == "checkout-api"
    assert sample["metric"]["__name__"] == "http_requests_total"
    ts, value = sample["value"]
    assert isinstance(ts, float) and isinstance(value, str)
    assert 0.06 < float(value) < 0.08


@pytest.mark.parametrize(("svc", "delta", "low", "high"), [
    ("checkout-api", timedelta(hours=-2), 0.0015, 0.0025),
    ("checkout-api", timedelta(minutes=5), 0.06, 0.08),
    ("payments-api", timedelta(hours=-2), 0.0005, 0.0015),
    ("payments-api", timedelta(hours=2), 0.0005, 0.0015),
])
async def test_error_ratio_follows_the_demo_story(
    prom: httpx.AsyncClient, svc: str, delta: timedelta, low: float, high: float
) -> None:
    body = (await prom.get("/api/v1/query", params={
        "query": RATIO.format(svc=svc), "time": at(delta)})).json()
    assert low < float(body["data"]["result"][0]["value"][1]) < high


async def test_rfc3339_time_and_post_form_are_accepted(prom: httpx.AsyncClient) -> None:
    when = (DEMO.incident_start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    body = (await prom.post("/api/v1/query", data={
        "query": RATIO.format(svc="checkout-api"), "time": when})).json()
    assert body["status"] == "success"
    assert float(body["data"]["result"][0]["value"][1]) > 0.05


async def test_selection_by_service(prom: httpx.AsyncClient) -> None:
    every = (await prom.get("/api/v1/query", params={"query": "up"})).json()
    assert {s["metric"]["service"] for s in every["data"]["result"]} == {
        "checkout-api", "payments-api"}
    assert {s["value"][1] for s in every["data"]["result"]} == {"1"}
    unknown = (await prom.get("/api/v1/query", params={
        "query": 'http_requests_total{service="nope"}'})).json()
    assert unknown["status"] == "success" and unknown["data"]["result"] == []


@pytest.mark.parametrize(("query", "fragment"), [
    ('sum(rate(http_requests_total{service="checkout-api"}[5m])',
     'invalid parameter "query": 1:58: parse error: unclosed left parenthesis'),
    ('http_requests_total{service="checkout-api"', "unexpected end of input inside braces"),
    ("rate(http_requests_total[5m]))", "unexpected right parenthesis ')'"),
    ("", "1:1: parse error: no expression found in input"),
    ('up{a="b}', "1:6: parse error: unterminated quoted string"),
])
async def test_syntax_errors_are_bad_data(
    prom: httpx.AsyncClient, query: str, fragment: str
) -> None:
    response = await prom.get("/api/v1/query", params={"query": query})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert fragment in body["error"]


async def test_range_query_is_a_matrix_that_shows_the_jump(prom: httpx.AsyncClient) -> None:
    start, end = at(timedelta(hours=-1)), at(timedelta(hours=1))
    body = (await prom.get("/api/v1/query_range", params={
        "query": RATIO.format(svc="checkout-api"), "start": start, "end": end,
        "step": "10m"})).json()
    assert body["data"]["resultType"] == "matrix"
    [series] = body["data"]["result"]
    values = [float(v) for _, v in series["values"]]
    assert len(values) == 13
    assert max(values[:5]) < 0.01 and min(values[-5:]) > 0.05
    too_fine = await prom.get("/api/v1/query_range", params={
        "query": "up", "start": "0", "end": "100000", "step": "1"})
    assert too_fine.status_code == 400 and "11,000 points" in too_fine.json()["error"]
    no_step = await prom.get("/api/v1/query_range", params={"query": "up", "start": "0",
                                                            "end": "10"})
    assert no_step.status_code == 400


async def test_buildinfo_and_health(prom: httpx.AsyncClient) -> None:
    info = (await prom.get("/api/v1/status/buildinfo")).json()
    assert info["status"] == "success" and "version" in info["data"]
    assert (await prom.get("/-/healthy")).status_code == 200
