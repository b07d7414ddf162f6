"""Prometheus (and Alertmanager) connector over httpx: the HTTP APIs are small and stable,
so no SDK. Prometheus's `bad_data` (a PromQL mistake) is returned to the model to correct;
5xx, `timeout`/`unavailable` errors and connection failures are temporary."""

from typing import Any

import httpx
from triage_contracts.errors import ErrorCode, TemporaryError

from ..errors import ToolError


class PrometheusClient:
    def __init__(self, base_url: str, timeout_s: float, name: str = "Prometheus") -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.name = name

    async def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s) as http:
                response = await http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"{self.name} did not answer within {self.timeout_s}s") from exc
        except httpx.TransportError as exc:
            raise TemporaryError(f"{self.name} unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TemporaryError(f"{self.name} answered {response.status_code}: "
                                 f"{_error_text(response)}")
        return response

    async def query(self, promql: str) -> dict[str, Any]:
        """An instant query: {resultType, result} exactly as Prometheus returns them."""
        response = await self._get("/api/v1/query", {"query": promql})
        body = _json(response)
        body = body if isinstance(body, dict) else {}
        if response.status_code >= 400 or body.get("status") != "success":
            kind = body.get("errorType", "")
            text = f"{self.name} rejected the query ({kind or response.status_code}): " \
                   f"{_error_text(response)}"
            if kind in ("timeout", "unavailable", "canceled"):
                raise TemporaryError(text)
            raise ToolError(text, ErrorCode.UPSTREAM_REJECTED)
        data: dict[str, Any] = body["data"]
        return {"resultType": data.get("resultType"), "result": data.get("result", [])}

    async def alerts(self, active_only: bool = True) -> list[dict[str, Any]]:
        """Alertmanager's GET /api/v2/alerts (a list of alerts, its native shape)."""
        params = {"active": "true", "silenced": "false", "inhibited": "false"} \
            if active_only else None
        response = await self._get("/api/v2/alerts", params)
        if response.status_code >= 400:
            raise ToolError(f"{self.name} answered {response.status_code}: "
                            f"{_error_text(response)}", ErrorCode.UPSTREAM_REJECTED)
        alerts = _json(response)
        if not isinstance(alerts, list):
            raise ToolError(f"{self.name} answered an unexpected shape: {type(alerts).__name__}")
        return alerts


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _error_text(response: httpx.Response) -> str:
    body = _json(response)
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return response.text[:300] or response.reason_phrase
