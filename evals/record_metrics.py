"""Recording Prometheus series and alerts, and Alertmanager silences and receivers, into
the world-file format (`record.py` drives it), over their real HTTP APIs.

A series is recorded per PromQL expression given: the range query's result over the
window, each series kept as piecewise-constant values (a value, and from when it holds),
under the metric the expression selects, so the stand-in answers the same expression
with it. Alerts come from Prometheus's alerts API; their expression and `for` come from
its rules API when it has one. Inhibition rules are Alertmanager configuration, not API
data: they are not recorded.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from triage_sandbox.promql import metric_name

from .record_github import Scrub, iso

_HTTP = 30.0


def _get(base: str, path: str, params: dict[str, Any] | None = None) -> Any:
    resp = httpx.get(base.rstrip("/") + path, params=params, timeout=_HTTP)
    resp.raise_for_status()
    body = resp.json()
    return body["data"] if isinstance(body, dict) and "data" in body else body


def _values(points: list[list[Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for stamp, raw in points:
        value = float(raw)
        if not out or out[-1]["value"] != value:
            out.append({"value": value, "from": iso(datetime.fromtimestamp(stamp, UTC))})
    return out


def series(prometheus: str, queries: list[str], now: datetime, window: timedelta,
           step_s: int) -> list[dict[str, Any]]:
    out = []
    params = {"start": (now - window).timestamp(), "end": now.timestamp(), "step": step_s}
    for query in queries:
        name = metric_name(query)
        for found in _get(prometheus, "/api/v1/query_range", {**params, "query": query}
                          )["result"]:
            labels = {k: v for k, v in found["metric"].items() if k != "__name__"}
            metric = found["metric"].get("__name__") or name
            if metric is None or metric == "ALERTS":
                continue  # the world makes ALERTS from its alerts
            out.append({"metric": metric, "labels": labels, "values": _values(found["values"])})
    return out


def _rules(prometheus: str) -> dict[str, dict[str, Any]]:
    """Alerting rules by name (empty when the server has no rules API)."""
    try:
        groups = _get(prometheus, "/api/v1/rules", {"type": "alert"})["groups"]
    except (httpx.HTTPError, KeyError, ValueError):
        return {}
    return {r["name"]: r for g in groups for r in g.get("rules") or []}


def alerts(prometheus: str, alertmanager: str | None, scrub: Scrub) -> list[dict[str, Any]]:
    rules = _rules(prometheus)
    receivers = _receivers(alertmanager) if alertmanager else {}
    out = []
    for alert in _get(prometheus, "/api/v1/alerts")["alerts"]:
        labels = dict(alert["labels"])
        name = labels.pop("alertname")
        rule = rules.get(name, {})
        key = tuple(sorted({"alertname": name, **labels}.items()))
        out.append({"name": name, "expr": rule.get("query") or f'ALERTS{{alertname="{name}"}}',
                    "labels": labels,
                    "annotations": {k: scrub(v) for k, v in alert["annotations"].items()},
                    "active": alert["activeAt"], "for": f"{int(rule.get('duration') or 0)}s",
                    "value": float(alert["value"]),
                    "receivers": receivers.get(key, ["default"])})
    return out


def _receivers(alertmanager: str) -> dict[tuple[tuple[str, str], ...], list[str]]:
    return {tuple(sorted(a["labels"].items())): [r["name"] for r in a["receivers"]]
            for a in _get(alertmanager, "/api/v2/alerts")}


def silences(alertmanager: str, scrub: Scrub) -> list[dict[str, Any]]:
    return [{"id": s["id"], "matchers": {m["name"]: m["value"] for m in s["matchers"]},
             "starts": s["startsAt"], "ends": s["endsAt"], "created_by": s["createdBy"],
             "comment": scrub(s.get("comment") or "")}
            for s in _get(alertmanager, "/api/v2/silences")
            if s["status"]["state"] != "expired"]
