"""Sending to the real ingress what Slack would send: the exact body, signed with the
workspace's signing secret (`X-Slack-Signature`, `X-Slack-Request-Timestamp`).

The only module of the channel page that calls out over the network."""

import logging
from dataclasses import dataclass
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


class IngressLink:
    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    async def send(self, path: str, body: bytes, content_type: str, what: str) -> Answer:
        settings = self.settings
        if not settings.connected or settings.signing_secret is None:
            raise NotConnected("this stand-in has no ingress to send to "
                               "(SANDBOX_INGRESS_URL / SANDBOX_SIGNING_SECRET are not set)")
        secret = settings.signing_secret.get_secret_value()
        url = f"{str(settings.ingress_url).rstrip('/')}{path}"
        try:
            async with httpx.AsyncClient(timeout=settings.timeout_s) as http:
                resp = await http.post(url, content=body,
                                       headers=signed_headers(secret, body, content_type))
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
