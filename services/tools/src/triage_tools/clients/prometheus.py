"""Prometheus HTTP API v1: instant and range queries, series and label discovery, and the
alerts of its alerting rules. Prometheus's `bad_data` (a PromQL mistake, too many points)
goes back to the model to correct; `timeout`/`unavailable` errors are temporary."""

from datetime import UTC, datetime
from typing import Any

from triage_contracts.errors import ErrorCode, TemporaryError

from ..errors import ToolError
from .http import HttpApi, Params, error_text, json_of

_TEMPORARY = ("timeout", "unavailable", "canceled")
# What a model can change when Prometheus refuses a range query's size.
_RESOLUTION_HINT = " (use a larger `step` or a shorter `range`)"


class PrometheusClient(HttpApi):
    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__(base_url, timeout_s, "Prometheus")

    async def _data(self, path: str, params: Params, what: str) -> Any:
        """The `data` of a successful answer; Prometheus's error as one of the two kinds."""
        response = await self.get(path, params)
        body = json_of(response)
        body = body if isinstance(body, dict) else {}
        if response.status_code < 400 and body.get("status") == "success":
            return body.get("data")
        kind = body.get("errorType", "")
        text = f"Prometheus rejected the {what} ({kind or response.status_code}): " \
               f"{error_text(response)}"
        if kind in _TEMPORARY:
            raise TemporaryError(text)
        if "maximum resolution" in text:
            text += _RESOLUTION_HINT
        raise ToolError(text, ErrorCode.UPSTREAM_REJECTED)

    async def query(self, promql: str, at: datetime | None = None) -> dict[str, Any]:
        """An instant query: {resultType, result} exactly as Prometheus returns them."""
        params: Params = [("query", promql)]
        if at is not None:
            params.append(("time", stamp(at)))
        data = await self._data("/api/v1/query", params, "query")
        return {"resultType": data.get("resultType"), "result": data.get("result", [])}

    async def query_range(self, promql: str, start: datetime, end: datetime,
                          step: str) -> dict[str, Any]:
        params: Params = [("query", promql), ("start", stamp(start)), ("end", stamp(end)),
                          ("step", step)]
        data = await self._data("/api/v1/query_range", params, "query")
        return {"resultType": data.get("resultType"), "result": data.get("result", [])}

    async def series(self, match: str) -> list[dict[str, str]]:
        found = await self._data("/api/v1/series", [("match[]", match)], "series selector")
        return list(found or [])

    async def label_values(self, label: str, match: str | None) -> list[str]:
        params: Params = [("match[]", match)] if match else []
        found = await self._data(f"/api/v1/label/{label}/values", params, "label query")
        return list(found or [])

    async def alerts(self) -> list[dict[str, Any]]:
        """The alerting rules' pending and firing alerts (`GET /api/v1/alerts`)."""
        data = await self._data("/api/v1/alerts", [], "alerts request")
        return list((data or {}).get("alerts", []))


def stamp(at: datetime) -> str:
    """Unix seconds, as Prometheus reads them; a time without a zone is UTC."""
    return f"{(at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp():.3f}"
