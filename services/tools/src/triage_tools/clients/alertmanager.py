"""Alertmanager API v2: the alerts it holds (`GET /api/v2/alerts`), in its native shape,
with its own `filter` matchers and active/silenced/inhibited switches."""

from typing import Any

from triage_contracts.errors import ErrorCode

from ..errors import ToolError
from .http import HttpApi, Params, json_of


class AlertmanagerClient(HttpApi):
    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__(base_url, timeout_s, "Alertmanager")

    async def alerts(self, active_only: bool = True,
                     filters: list[str] | None = None) -> list[dict[str, Any]]:
        """Active only: neither silenced nor inhibited. `filters`: label matchers, ANDed."""
        params: Params = [("active", "true"), ("silenced", "false"), ("inhibited", "false")] \
            if active_only else []
        params += [("filter", f) for f in filters or []]
        response = await self.get("/api/v2/alerts", params)
        if response.status_code >= 400:
            raise self.rejected(response, " (a filter is a label matcher such as "
                                          'service="checkout-api" or severity=~"critical|page")')
        alerts = json_of(response)
        if not isinstance(alerts, list):
            raise ToolError(f"Alertmanager answered an unexpected shape: "
                            f"{type(alerts).__name__}", ErrorCode.UPSTREAM_REJECTED)
        return alerts
