"""The small HTTP JSON APIs (Prometheus, Alertmanager) over httpx: no SDK, one request per
call, failures sorted into the error model. 5xx, 429, timeouts and connection failures are
temporary; what a 4xx says is the caller's to fix."""

from typing import Any

import httpx
from triage_contracts.errors import ErrorCode, TemporaryError

from ..errors import ToolError

Params = list[tuple[str, str | int | float | bool | None]]


class HttpApi:
    def __init__(self, base_url: str, timeout_s: float, name: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.name = name

    async def get(self, path: str, params: Params | None = None) -> httpx.Response:
        """GET `path`; temporary failures raised, any other answer returned."""
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s) as http:
                response = await http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"{self.name} did not answer within {self.timeout_s}s") from exc
        except httpx.TransportError as exc:
            raise TemporaryError(f"{self.name} unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TemporaryError(f"{self.name} answered {response.status_code}: "
                                 f"{error_text(response)}")
        return response

    def rejected(self, response: httpx.Response, hint: str = "") -> ToolError:
        return ToolError(f"{self.name} answered {response.status_code}: "
                         f"{error_text(response)}{hint}", ErrorCode.UPSTREAM_REJECTED)


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def error_text(response: httpx.Response) -> str:
    """The server's own message: Prometheus's `error` field, Alertmanager's JSON string."""
    body = json_of(response)
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    if isinstance(body, str) and body:
        return body
    return response.text[:300] or response.reason_phrase
