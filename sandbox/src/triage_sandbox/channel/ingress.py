"""Sending to the real ingress what Slack would send: the exact body, signed with the
workspace's signing secret (`X-Slack-Signature`, `X-Slack-Request-Timestamp`), within
Slack's 3 seconds. An Events API request the ingress did not take (no answer in time, or
a 5xx) is sent again as Slack does, three times, with `X-Slack-Retry-Num` and
`X-Slack-Retry-Reason` (`http_timeout`, `http_error`); slash commands and interactions
are never retried (Slack shows the person an error instead).

The only module of the channel page that calls out over the network."""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..slack_events import signed_headers
from .settings import ChannelSettings

log = logging.getLogger("triage.sandbox")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class NotConnected(Exception):
    """The page cannot reach an ingress (not configured, or not answering)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, the text, or None when empty

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class IngressLink:
    settings: ChannelSettings
    # Every request sent: path, attempt (0 = first), status (0: no answer), retry reason.
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    _retries: set[asyncio.Task[None]] = field(default_factory=set)

    async def send(self, path: str, body: bytes, content_type: str, what: str) -> Answer:
        try:
            answer = await self._attempt(path, body, content_type, what, 0, None)
        except NotConnected as exc:
            if path == "/slack/events" and isinstance(exc.__cause__, httpx.TimeoutException):
                self._retry_later(path, body, content_type, what, "http_timeout")
            raise
        if path == "/slack/events" and answer.status >= 500:
            self._retry_later(path, body, content_type, what, "http_error")
        return answer

    def _retry_later(self, path: str, body: bytes, content_type: str, what: str,
                     reason: str) -> None:
        task = asyncio.create_task(self._retry(path, body, content_type, what, reason))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, path: str, body: bytes, content_type: str, what: str,
                     reason: str) -> None:
        for attempt, delay in enumerate(self.settings.retry_delays_s, start=1):
            await asyncio.sleep(delay)
            try:
                answer = await self._attempt(path, body, content_type, what, attempt, reason)
            except NotConnected as exc:
                reason = ("http_timeout" if isinstance(exc.__cause__, httpx.TimeoutException)
                          else "http_error")
                continue
            if answer.status < 500:
                return
            reason = "http_error"

    async def _attempt(self, path: str, body: bytes, content_type: str, what: str,
                       attempt: int, reason: str | None) -> Answer:
        settings = self.settings
        if not settings.connected or settings.signing_secret is None:
            raise NotConnected("this stand-in has no ingress to send to "
                               "(SANDBOX_INGRESS_URL / SANDBOX_SIGNING_SECRET are not set)")
        secret = settings.signing_secret.get_secret_value()
        url = f"{str(settings.ingress_url).rstrip('/')}{path}"
        headers = signed_headers(secret, body, content_type)
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason or ""}
        record: dict[str, Any] = {"path": path, "attempt": attempt, "status": 0,
                                  "reason": reason}
        self.deliveries.append(record)
        try:
            async with httpx.AsyncClient(timeout=settings.timeout_s) as http:
                resp = await http.post(url, content=body, headers=headers)
            record["status"] = resp.status_code
        except httpx.HTTPError as exc:
            log.warning("SANDBOX slack: %s not delivered, ingress unreachable (%s)", what,
                        type(exc).__name__)
            raise NotConnected(f"the ingress at {settings.ingress_url} did not answer "
                               f"({type(exc).__name__})") from exc
        log.info("SANDBOX slack: %s signed and sent to %s, ingress answered %s", what, path,
                 resp.status_code)
        return Answer(resp.status_code, _body(resp))


def _body(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text
