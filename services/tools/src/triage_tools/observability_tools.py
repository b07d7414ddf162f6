"""Observability tools: PromQL instant queries and active Alertmanager alerts.

Both are optional (PROMETHEUS_URL, ALERTMANAGER_URL): unconfigured, the tool stays listed
and answers with an error that says what to set, so a model stops asking for it.
"""

from typing import Any

from triage_contracts.errors import ErrorCode
from triage_contracts.tools import AlertsArgs, PrometheusQueryArgs

from .clients.prometheus import PrometheusClient
from .errors import ToolError
from .registry import CallContext, RateLimit, Tool


class ObservabilityTools:
    def __init__(self, prometheus: PrometheusClient | None,
                 alertmanager: PrometheusClient | None) -> None:
        self.prometheus = prometheus
        self.alertmanager = alertmanager

    async def query(self, args: PrometheusQueryArgs, _: CallContext) -> dict[str, Any]:
        if self.prometheus is None:
            raise ToolError("prometheus.query is not configured: PROMETHEUS_URL is unset",
                            ErrorCode.UPSTREAM_UNAVAILABLE)
        return await self.prometheus.query(args.query)

    async def alerts(self, args: AlertsArgs, _: CallContext) -> list[dict[str, Any]]:
        if self.alertmanager is None:
            raise ToolError("alertmanager.alerts is not configured: ALERTMANAGER_URL is unset",
                            ErrorCode.UPSTREAM_UNAVAILABLE)
        alerts = await self.alertmanager.alerts(args.active_only)
        return [_alert(a) for a in alerts[: args.limit]]

    def tools(self, timeout_s: float) -> list[Tool]:
        limit = RateLimit(per_second=5.0, burst=20)
        return [
            Tool.of("prometheus.query", self.query, timeout_s=timeout_s, rate=limit,
                    is_empty=lambda data: not data or not data.get("result")),
            Tool.of("alertmanager.alerts", self.alerts, timeout_s=timeout_s, rate=limit),
        ]


def _alert(alert: dict[str, Any]) -> dict[str, Any]:
    status = alert.get("status") or {}
    return {"labels": alert.get("labels", {}), "annotations": alert.get("annotations", {}),
            "state": status.get("state"), "starts_at": alert.get("startsAt"),
            "fingerprint": alert.get("fingerprint"), "url": alert.get("generatorURL")}
