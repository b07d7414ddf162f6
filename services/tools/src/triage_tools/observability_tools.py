"""Observability tools: PromQL instant and range queries, series and label discovery, the
alerts of Prometheus's rules, and Alertmanager's alerts.

Both toolsets are optional (PROMETHEUS_URL, ALERTMANAGER_URL): unconfigured, their tools
stay listed as disabled with the variable to set, and a call answers that as an error.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from triage_contracts.errors import ErrorCode
from triage_contracts.tools import (
    AlertsArgs,
    PrometheusAlertsArgs,
    PrometheusLabelValuesArgs,
    PrometheusQueryArgs,
    PrometheusRangeArgs,
    PrometheusSeriesArgs,
)

from .clients.alertmanager import AlertmanagerClient
from .clients.prometheus import PrometheusClient
from .errors import ToolError
from .registry import CallContext, RateLimit, Tool

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LIMIT = RateLimit(per_second=5.0, burst=20)


def seconds(duration: str) -> float:
    """A duration the contracts accept (`90s`, `6h`, `2d`) in seconds."""
    number = duration.rstrip("smhdw")
    return int(number) * _UNITS[duration[len(number):]]


def _no_result(data: dict[str, Any]) -> bool:
    return not data or not data.get("result")


class ObservabilityTools:
    def __init__(self, prometheus: PrometheusClient | None,
                 alertmanager: AlertmanagerClient | None) -> None:
        self.prometheus = prometheus
        self.alertmanager = alertmanager

    def _prometheus(self) -> PrometheusClient:
        if self.prometheus is None:  # the registry refuses disabled tools before this
            raise ToolError("PROMETHEUS_URL is unset", ErrorCode.UPSTREAM_UNAVAILABLE)
        return self.prometheus

    async def query(self, args: PrometheusQueryArgs, _: CallContext) -> dict[str, Any]:
        return await self._prometheus().query(args.query, args.time)

    async def query_range(self, args: PrometheusRangeArgs, _: CallContext) -> dict[str, Any]:
        end = args.end or datetime.now(UTC)
        start = end - timedelta(seconds=seconds(args.range))
        found = await self._prometheus().query_range(args.query, start, end, args.step)
        return {**found, "start": start.isoformat(), "end": end.isoformat(),
                "step": args.step}

    async def series(self, args: PrometheusSeriesArgs, _: CallContext) -> dict[str, Any]:
        found = await self._prometheus().series(args.match)
        return {"series": found[: args.limit], "total": len(found)}

    async def label_values(self, args: PrometheusLabelValuesArgs,
                           _: CallContext) -> dict[str, Any]:
        found = await self._prometheus().label_values(args.label, args.match)
        return {"label": args.label, "values": found[: args.limit], "total": len(found)}

    async def rule_alerts(self, args: PrometheusAlertsArgs, _: CallContext) -> list[Any]:
        alerts = await self._prometheus().alerts()
        return [_rule_alert(a) for a in alerts if args.state in ("all", a.get("state"))]

    async def alerts(self, args: AlertsArgs, _: CallContext) -> list[dict[str, Any]]:
        if self.alertmanager is None:
            raise ToolError("ALERTMANAGER_URL is unset", ErrorCode.UPSTREAM_UNAVAILABLE)
        alerts = await self.alertmanager.alerts(args.active_only, list(args.filter))
        return [_alert(a) for a in alerts[: args.limit]]

    def tools(self, timeout_s: float) -> list[Tool]:
        off = None if self.prometheus else "PROMETHEUS_URL is unset"
        # Prometheus has no credential here: identical queries of one team share answers.
        common: dict[str, Any] = {"timeout_s": timeout_s, "rate": LIMIT, "disabled": off,
                                  "share": "prometheus"}
        return [
            Tool.of("prometheus.query", self.query, is_empty=_no_result, **common),
            Tool.of("prometheus.query_range", self.query_range, is_empty=_no_result, **common),
            Tool.of("prometheus.series", self.series,
                    is_empty=lambda data: not data["series"], **common),
            Tool.of("prometheus.label_values", self.label_values,
                    is_empty=lambda data: not data["values"], **common),
            Tool.of("prometheus.alerts", self.rule_alerts, **common),
            Tool.of("alertmanager.alerts", self.alerts, timeout_s=timeout_s, rate=LIMIT,
                    disabled=None if self.alertmanager else "ALERTMANAGER_URL is unset",
                    share="alertmanager"),
        ]


def _rule_alert(alert: dict[str, Any]) -> dict[str, Any]:
    return {"labels": alert.get("labels", {}), "annotations": alert.get("annotations", {}),
            "state": alert.get("state"), "activeAt": alert.get("activeAt"),
            "value": alert.get("value")}


def _alert(alert: dict[str, Any]) -> dict[str, Any]:
    status = alert.get("status") or {}
    return {"labels": alert.get("labels", {}), "annotations": alert.get("annotations", {}),
            "state": status.get("state"), "startsAt": alert.get("startsAt"),
            "silencedBy": status.get("silencedBy", []),
            "inhibitedBy": status.get("inhibitedBy", []),
            "fingerprint": alert.get("fingerprint"), "url": alert.get("generatorURL")}
