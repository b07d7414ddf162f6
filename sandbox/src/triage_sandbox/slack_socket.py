"""Socket Mode, as the sandbox plays it: the app opens a WebSocket instead of receiving
HTTP requests (companies whose Slack cannot reach them over HTTP use it).

`POST /api/apps.connections.open` with the app-level token (`xapp-…`) answers a one-use
WebSocket URL; on `/sandbox/socket` the stand-in says `hello`, then sends envelopes
(`events_api`, `slash_commands`, `interactive`) and waits for each acknowledgement
(`{"envelope_id": …, "payload": …}`). As Slack does, an envelope not acknowledged within
3 seconds is sent again (`retry_attempt`, `retry_reason: timeout`), up to 3 retries.
`POST /sandbox/socket/deliver` hands one envelope to the connected app and answers what
happened; `POST /sandbox/socket/refresh` asks the app to reconnect (`disconnect`,
`refresh_requested`), as Slack does every few hours.
"""

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from .slack_workspace import JsonDict, error

ACK_TIMEOUT_S = 3.0
RETRIES = 3


class Delivery(BaseModel):
    type: Literal["events_api", "slash_commands", "interactive"]
    payload: JsonDict
    ack_timeout_s: float = ACK_TIMEOUT_S


@dataclass
class SocketHub:
    app_token: str
    tickets: set[str] = field(default_factory=set)
    connections: list[WebSocket] = field(default_factory=list)
    acks: dict[str, asyncio.Future[JsonDict]] = field(default_factory=dict)
    sent: list[JsonDict] = field(default_factory=list)  # every envelope, retries included
    connected: int = 0  # connections opened so far

    def open(self, base_url: str) -> str:
        ticket = secrets.token_urlsafe(16)
        self.tickets.add(ticket)
        scheme = "wss" if base_url.startswith("https") else "ws"
        host = base_url.split("://", 1)[1].rstrip("/")
        return f"{scheme}://{host}/sandbox/socket?ticket={ticket}"

    async def deliver(self, delivery: Delivery) -> JsonDict:
        """Send one envelope to the newest connection; retry on a missing ack."""
        envelope_id = str(uuid.uuid4())
        for attempt in range(RETRIES + 1):
            if not self.connections:
                return {"ok": False, "error": "no_connection", "attempts": attempt}
            envelope = {"envelope_id": envelope_id, "type": delivery.type,
                        "payload": delivery.payload, "accepts_response_payload":
                            delivery.type != "events_api",
                        "retry_attempt": attempt, "retry_reason": "timeout" if attempt else ""}
            waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
            self.acks[envelope_id] = waiter
            self.sent.append(envelope)
            await self.connections[-1].send_json(envelope)
            try:
                ack = await asyncio.wait_for(waiter, delivery.ack_timeout_s)
            except TimeoutError:
                continue
            finally:
                self.acks.pop(envelope_id, None)
            return {"ok": True, "envelope_id": envelope_id, "attempts": attempt + 1,
                    "payload": ack.get("payload")}
        return {"ok": False, "error": "not_acknowledged", "attempts": RETRIES + 1,
                "envelope_id": envelope_id}

    async def serve(self, socket: WebSocket) -> None:
        await socket.send_json({"type": "hello", "num_connections": len(self.connections),
                                "debug_info": {"host": "sandbox", "approximate_connection_time":
                                               18060}, "connection_info": {"app_id": "ASANDBOX"}})
        self.connections.append(socket)
        self.connected += 1
        try:
            while True:
                message = await socket.receive_json()
                waiter = self.acks.get(str(message.get("envelope_id")))
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
        except WebSocketDisconnect:
            pass
        finally:
            if socket in self.connections:
                self.connections.remove(socket)

    async def refresh(self) -> int:
        for socket in list(self.connections):
            await socket.send_json({"type": "disconnect", "reason": "refresh_requested",
                                    "debug_info": {"host": "sandbox"}})
        return len(self.connections)


def install_socket_mode(app: FastAPI, hub: SocketHub) -> None:
    """Add the Socket Mode routes; call before the generic `/api/{method}` route."""

    @app.post("/api/apps.connections.open")
    async def connections_open(request: Request) -> JsonDict:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            return error("not_authed")
        if not secrets.compare_digest(token.encode(), hub.app_token.encode()):
            # A bot token here is the classic mistake: Slack says so.
            return error("not_allowed_token_type" if token.startswith("xoxb-")
                         else "invalid_auth")
        return {"ok": True, "url": hub.open(str(request.base_url))}

    @app.websocket("/sandbox/socket")
    async def socket(websocket: WebSocket, ticket: str = "") -> None:
        if ticket not in hub.tickets:
            await websocket.close(code=4001)  # a URL from apps.connections.open, once
            return
        hub.tickets.discard(ticket)
        await websocket.accept()
        await hub.serve(websocket)

    @app.post("/sandbox/socket/deliver")
    async def deliver(delivery: Delivery) -> JsonDict:
        started = time.monotonic()
        outcome = await hub.deliver(delivery)
        return {**outcome, "seconds": round(time.monotonic() - started, 3)}

    @app.post("/sandbox/socket/refresh")
    async def refresh() -> dict[str, Any]:
        return {"ok": True, "asked": await hub.refresh()}
