"""The Alertmanager stand-in answers `GET /api/v2/alerts` in Alertmanager's shape: the
demo's firing alerts, sorted by fingerprint, with silences and inhibition deciding what
is suppressed, and Alertmanager's query parameters and error texts. httpx over the ASGI
transport; the shape is checked against a real Alertmanager in
test_shapes_against_real_servers.py."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from triage_sandbox.alertmanager_api import build_alertmanager_api, fingerprint
from triage_sandbox.demo_data import build_demo

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DEMO = build_demo(NOW)
KEYS = ["annotations", "endsAt", "fingerprint", "receivers", "startsAt", "status",
        "updatedAt", "generatorURL", "labels"]
SILENCE = "6f1c2b9e-8d4a-4c3b-9e7f-2a5d8c1b0e43"


@pytest.fixture
async def am() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_alertmanager_api(DEMO))
    async with httpx.AsyncClient(transport=transport, base_url="http://am.sandbox") as c:
        yield c


async def names(am: httpx.AsyncClient, params: Any = None) -> list[str]:
    response = await am.get("/api/v2/alerts", params=params)
    assert response.status_code == 200, response.text
    return [a["labels"]["alertname"] for a in response.json()]


def parse(stamp: str) -> datetime:
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 4  # milliseconds + Z
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def test_alerts_have_alertmanagers_shape(am: httpx.AsyncClient) -> None:
    alerts = (await am.get("/api/v2/alerts")).json()
    assert [a["fingerprint"] for a in alerts] == sorted(a["fingerprint"] for a in alerts)
    by_name = {a["labels"]["alertname"]: a for a in alerts}
    error_rate = by_name["HighErrorRate"]
    assert list(error_rate) == KEYS
    assert error_rate["labels"] == {"alertname": "HighErrorRate", "service": "checkout-api",
                                    "severity": "critical", "team": "checkout"}
    assert error_rate["fingerprint"] == fingerprint(error_rate["labels"])
    assert error_rate["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
    assert error_rate["receivers"] == [{"name": "pagerduty-checkout"}]
    # Prometheus sends an alert once it has been pending for its `for` (5m).
    assert parse(error_rate["startsAt"]) == DEMO.incident_start + timedelta(minutes=5)
    updated, ends = parse(error_rate["updatedAt"]), parse(error_rate["endsAt"])
    assert ends - updated == timedelta(minutes=4) and updated <= DEMO.current()
    assert "/graph?g0.expr=sum+by+%28service%29" in error_rate["generatorURL"]


async def test_inhibition_and_silences_suppress(am: httpx.AsyncClient) -> None:
    alerts = {a["labels"]["alertname"]: a for a in (await am.get("/api/v2/alerts")).json()}
    latency = alerts["HighLatencyP99"]["status"]
    assert latency == {"inhibitedBy": [alerts["HighErrorRate"]["fingerprint"]],
                       "silencedBy": [], "state": "suppressed"}
    cert = alerts["CertificateExpiringSoon"]["status"]
    assert cert == {"inhibitedBy": [], "silencedBy": [SILENCE], "state": "suppressed"}
    [silence] = (await am.get("/api/v2/silences")).json()
    assert silence["id"] == SILENCE and silence["status"] == {"state": "active"}
    assert silence["matchers"][0] == {"isEqual": True, "isRegex": False,
                                      "name": "alertname", "value": "CertificateExpiringSoon"}


@pytest.mark.parametrize(("params", "expected"), [
    ({"active": "false"}, {"HighLatencyP99", "CertificateExpiringSoon"}),
    ({"silenced": "false"}, {"HighErrorRate", "HighLatencyP99"}),
    ({"inhibited": "false", "silenced": "false"}, {"HighErrorRate"}),
    ({"active": "maybe"}, {"HighLatencyP99", "CertificateExpiringSoon"}),  # not true: false
    ({"filter": 'service="checkout-api"'}, {"HighErrorRate", "HighLatencyP99"}),
    ({"filter": "alertname=HighErrorRate"}, {"HighErrorRate"}),  # quotes are optional
    ({"filter": 'severity=~"crit.*|warn.*"'}, {"HighErrorRate", "HighLatencyP99"}),
    ({"filter": 'service!="checkout-api"'}, {"CertificateExpiringSoon"}),
    ([("filter", 'team="checkout"'), ("filter", 'severity="warning"')], {"HighLatencyP99"}),
    ({"receiver": "slack-.*"}, {"HighLatencyP99", "CertificateExpiringSoon"}),
    ({"receiver": "slack"}, set()),  # anchored, as Alertmanager's regex is
])
async def test_query_parameters(am: httpx.AsyncClient, params: Any,
                                expected: set[str]) -> None:
    assert set(await names(am, params)) == expected


@pytest.mark.parametrize(("matcher", "error"), [
    ('service="', 'matcher value contains unescaped double quote: "'),
    ('{alertname="HighErrorRate"}', 'bad matcher format: {alertname="HighErrorRate"}'),
    ("foo", "bad matcher format: foo"),
])
async def test_bad_filters_are_400_with_alertmanagers_text(
    am: httpx.AsyncClient, matcher: str, error: str
) -> None:
    response = await am.get("/api/v2/alerts", params={"filter": matcher})
    assert response.status_code == 400 and response.json() == error


def test_fingerprint_is_prometheus_label_set_fingerprint() -> None:
    # Seen from a real Alertmanager 0.25 for this label set.
    labels = {"alertname": "HighErrorRate", "service": "checkout-api", "severity": "critical"}
    assert fingerprint(labels) == "ff774b3b5a5e3c3e"
