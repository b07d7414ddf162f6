"""Prometheus and Alertmanager tools through the real service, with the real httpx client
against the stand-ins (demo world: the checkout error ratio jumps at the bad deploy; three
alerts, one silenced and one inhibited). The real servers answer the same calls in
test_observability_real.py."""

from datetime import timedelta
from typing import Any

from triage_contracts.messages import ToolStatus
from triage_sandbox.demo_data import BROKEN_ERROR_RATIO, HEALTHY_ERROR_RATIO, Demo

RATIO = ('sum(rate(http_requests_total{service="checkout-api",code=~"5.."}[5m])) / '
         'sum(rate(http_requests_total{service="checkout-api"}[5m]))')


def close(value: str, expected: float) -> bool:
    return abs(float(value) - expected) < expected / 2


async def test_query_at_a_time_before_the_incident(tools: Any, demo: Demo) -> None:
    before = (demo.current() - timedelta(hours=8)).replace(microsecond=0)
    result = await tools.call("prometheus.query", {"query": RATIO,
                                                   "time": before.isoformat()})
    assert result.status == ToolStatus.SUCCESS, result.error
    [sample] = result.data["result"]
    assert sample["value"][0] == before.timestamp()
    assert close(sample["value"][1], HEALTHY_ERROR_RATIO)


async def test_query_range_shows_when_the_ratio_changed(tools: Any) -> None:
    result = await tools.call("prometheus.query_range", {"query": RATIO, "range": "12h",
                                                         "step": "30m"})
    assert result.status == ToolStatus.SUCCESS, result.error
    data = result.data
    assert data["resultType"] == "matrix" and data["step"] == "30m"
    assert data["start"] < data["end"]
    [series] = data["result"]
    assert series["metric"]["service"] == "checkout-api"
    values = [v for _, v in series["values"]]
    assert len(values) == 25
    assert close(values[0], HEALTHY_ERROR_RATIO) and close(values[-1], BROKEN_ERROR_RATIO)


async def test_query_range_over_the_point_limit_says_how_to_fix_it(tools: Any) -> None:
    result = await tools.call("prometheus.query_range", {"query": RATIO, "range": "2w",
                                                         "step": "1s"})
    assert result.status == ToolStatus.ERROR
    assert "Prometheus rejected the query (bad_data)" in result.error
    assert "exceeded maximum resolution of 11,000 points per timeseries" in result.error
    assert result.error.endswith("(use a larger `step` or a shorter `range`)")


async def test_series_and_label_values_discover_what_exists(tools: Any) -> None:
    series = await tools.call("prometheus.series", {"match": "http_requests_total",
                                                    "limit": 1})
    assert series.status == ToolStatus.SUCCESS, series.error
    assert series.data["total"] == 2 and len(series.data["series"]) == 1
    assert series.data["series"][0]["__name__"] == "http_requests_total"
    services = await tools.call("prometheus.label_values", {"label": "service"})
    assert services.data == {"label": "service", "values": ["checkout-api", "payments-api"],
                             "total": 2}
    alerts = await tools.call("prometheus.label_values", {
        "label": "alertname", "match": 'ALERTS{service="payments-api"}'})
    assert alerts.data["values"] == ["CertificateExpiringSoon"]
    nothing = await tools.call("prometheus.series", {"match": "no_such_metric"})
    assert nothing.status == ToolStatus.NO_DATA


async def test_a_broken_selector_is_an_error_the_model_can_fix(tools: Any) -> None:
    result = await tools.call("prometheus.label_values", {"label": "service",
                                                          "match": 'up{service="x"'})
    assert result.status == ToolStatus.ERROR
    assert "bad_data" in result.error and "unexpected end of input inside braces" in \
        result.error


async def test_prometheus_alerts_of_the_rules(tools: Any) -> None:
    result = await tools.call("prometheus.alerts", {})
    assert result.status == ToolStatus.SUCCESS, result.error
    firing = {a["labels"]["alertname"]: a for a in result.data}
    assert set(firing) == {"HighErrorRate", "HighLatencyP99", "CertificateExpiringSoon"}
    error_rate = firing["HighErrorRate"]
    assert error_rate["state"] == "firing" and error_rate["activeAt"].endswith("Z")
    assert error_rate["annotations"]["summary"] == "checkout-api 5xx ratio above 5%"
    assert float(firing["CertificateExpiringSoon"]["value"]) == 12.5
    pending = await tools.call("prometheus.alerts", {"state": "pending"})
    assert pending.status == ToolStatus.NO_DATA


async def test_prometheus_alerts_with_an_unknown_state_lists_the_choices(tools: Any) -> None:
    result = await tools.call("prometheus.alerts", {"state": "resolved"})
    assert result.status == ToolStatus.ERROR
    assert "state: Input should be 'firing', 'pending' or 'all'" in result.error


async def test_alertmanager_alerts_active_filtered_and_suppressed(tools: Any) -> None:
    active = await tools.call("alertmanager.alerts", {})
    assert active.status == ToolStatus.SUCCESS, active.error
    [page] = active.data  # the warning is inhibited by it, the certificate is silenced
    assert page["labels"]["alertname"] == "HighErrorRate" and page["state"] == "active"
    assert page["startsAt"].endswith("Z") and page["url"].startswith("http://prometheus")
    everything = await tools.call("alertmanager.alerts", {
        "active_only": False, "filter": ['service="payments-api"']})
    [silenced] = everything.data
    assert silenced["labels"]["alertname"] == "CertificateExpiringSoon"
    assert silenced["state"] == "suppressed" and silenced["silencedBy"]


async def test_alertmanager_refuses_a_malformed_filter(tools: Any) -> None:
    result = await tools.call("alertmanager.alerts", {"filter": ["service"]})
    assert result.status == ToolStatus.ERROR
    assert "Alertmanager answered 400: bad matcher format: service" in result.error
