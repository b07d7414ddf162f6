"""Socket Mode: a second front door beside HTTP, for companies whose Slack cannot reach
them (no public endpoint). With SLACK_APP_TOKEN (`xapp-…`) the edge opens a WebSocket to
Slack with slack-sdk's Socket Mode client and receives the same events, slash commands and
interactions over it, handled by the same code as the HTTP endpoints (normalisation,
event-id dedupe into EVENTS, the approval buttons).

The WebSocket is authenticated by the app token, so there is no request signature to
check. An envelope is acknowledged only once its request is safely in JetStream, as the
HTTP endpoint answers 200 only then: a temporary failure leaves it unacknowledged and
Slack sends it again (the event id dedupes the retry). A request that can never succeed
(malformed, another workspace's) is acknowledged and logged, as HTTP answers 4xx.
The client reconnects by itself when Slack asks it to or the connection drops.
"""

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts.errors import PermanentError, TemporaryError
from triage_contracts.logs import get_logger

from .approval_buttons import ApprovalButtons
from .commands import on_command
from .events import on_event_payload
from .installations import Stores
from .intake import Edge
from .interactivity import on_interaction

log = get_logger("triage.ingress.socket_mode")


class SocketFrontDoor:
    def __init__(self, app_token: SecretStr, api_url: str, edge: Edge, stores: Stores | None,
                 buttons: ApprovalButtons) -> None:
        self.client = SocketModeClient(
            app_token=app_token.get_secret_value(),
            web_client=AsyncWebClient(base_url=api_url), auto_reconnect_enabled=True)
        self.client.socket_mode_request_listeners.append(self._on_request)
        self.edge, self.stores, self.buttons = edge, stores, buttons
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.client.connect()  # type: ignore[no-untyped-call]
        log.info("socket mode connected")

    async def stop(self) -> None:
        await self.client.close()  # type: ignore[no-untyped-call]
        for task in list(self._tasks):
            task.cancel()

    async def _on_request(self, client: AsyncBaseSocketModeClient,
                          req: SocketModeRequest) -> None:
        try:
            answer = await self.handle(req.type, req.payload)
        except TemporaryError as exc:
            # Not acknowledged: Slack sends the envelope again.
            log.warning("socket mode request not taken yet", type=req.type, reason=str(exc))
            return
        except PermanentError as exc:
            log.warning("socket mode request refused", type=req.type, reason=str(exc),
                        code=exc.code.value)
            answer = None
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=answer))

    async def handle(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "events_api":
            await on_event_payload(self.edge, self.stores, payload)
            return None
        if kind == "slash_commands":
            form = {k: str(v) for k, v in payload.items()}
            # As over HTTP: without a trigger id, the exact request names the run.
            exact = hashlib.sha256(json.dumps(form, sort_keys=True).encode()).hexdigest()
            return await on_command(self.edge, form, fallback_trigger=exact)
        if kind == "interactive":
            return await on_interaction(payload, self.edge, self.buttons, self._later)
        return None  # hello, disconnect and future types: nothing to do

    def _later(self, work: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._run(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception:  # a click handled in the background must not die silently
            log.exception("interaction failed in the background")
