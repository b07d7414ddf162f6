"""Fixtures of the ingress tests: the real app under real uvicorn on a free port, against
the real nats-server of the root `nats_url` fixture, the Slack Web API stand-in
(also under uvicorn) for the notifier's real slack-sdk client, and the installation
stores' database on both backends (a SQLite file, a fresh PostgreSQL schema)."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from nats.errors import ConnectionClosedError, ConnectionReconnectingError
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from slack_sdk.signature import SignatureVerifier
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.testing import postgres
from triage_contracts.testing.natsserver import free_port
from triage_ingress.app import build_app
from triage_ingress.settings import Settings
from triage_sandbox.slack_api import SandboxSlack, build_slack_api
from triage_sandbox.slack_socket import SocketHub

SIGNING_SECRET = "test-signing-secret-5f2c9a"
BOT_TOKEN = "xoxb-test-1234567890-abcdef"
TEAM = "T0TEST"
BOT_USER = "UBOT"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in this event loop; stop it gracefully on exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited during start-up")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


def signed_headers(body: bytes, content_type: str = "application/json",
                   timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or ""}


@dataclass
class Ingress:
    url: str
    app: FastAPI
    http: httpx.AsyncClient
    # The harness's own connection as `test-admin`: the service's identity may neither
    # read the streams it publishes to nor send itself notify work.
    admin: NatsBroker

    @property
    def js(self) -> JetStreamContext:
        return jetstream(self.admin)

    def signed(self, body: bytes, content_type: str = "application/json",
               **sign: Any) -> dict[str, str]:
        """Headers exactly as Slack would sign `body` (timestamp=, secret= to vary)."""
        return signed_headers(body, content_type, **sign)

    async def post(self, path: str, body: bytes, content_type: str = "application/json",
                   headers: dict[str, str] | None = None, **sign: Any) -> httpx.Response:
        all_headers = self.signed(body, content_type, **sign) | (headers or {})
        return await self.http.post(path, content=body, headers=all_headers)

    async def stream(self, name: str) -> list[RawStreamMsg]:
        """Every message currently stored in stream `name`, oldest first."""
        state = (await self.js.stream_info(name)).state
        if not state.messages:
            return []
        return [await self.js.get_msg(name, seq)
                for seq in range(state.first_seq, state.last_seq + 1)]


StartIngress = Callable[..., Awaitable[Ingress]]


async def _close(broker: NatsBroker) -> None:
    """Outage tests stop the server under the harness: then there is nothing to drain."""
    with suppress(ConnectionReconnectingError, ConnectionClosedError):
        await broker.stop()


@pytest.fixture
async def start_ingress(nats_url: str) -> AsyncIterator[StartIngress]:
    """Start an ingress with settings overrides; everything started stops at test end."""
    async with AsyncExitStack() as stack:
        admin = build_broker(nats_url, "test-harness")
        await admin.connect()
        stack.push_async_callback(_close, admin)

        async def start(**overrides: Any) -> Ingress:
            values: dict[str, Any] = {"nats_url": nats_url, "slack_signing_secret": SIGNING_SECRET,
                                      "slack_bot_token": BOT_TOKEN, **overrides}
            app = build_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]
            url = await stack.enter_async_context(serving(app))
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=20))
            return Ingress(url, app, http, admin)

        yield start


@pytest.fixture
async def ingress(start_ingress: StartIngress) -> Ingress:
    return await start_ingress(role="edge")


@dataclass
class SlackStandIn:
    url: str
    state: SandboxSlack
    token: str = BOT_TOKEN
    socket: SocketHub | None = None  # its Socket Mode side

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def posts(self) -> list[dict[str, Any]]:
        return [c for c in self.state.calls if c["method"] == "chat.postMessage"]


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackStandIn]:
    app = build_slack_api(bot_token=BOT_TOKEN, bot_user_id=BOT_USER, team_id=TEAM)
    async with serving(app) as url:
        yield SlackStandIn(url, app.state.slack, socket=app.state.socket)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Poll until `check()` holds: consumers work asynchronously."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[None]]:
    return eventually


POSTGRES_URL = os.environ.get("INGRESS_TEST_POSTGRES_URL", postgres.DEFAULT_URL)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database URL whose search_path is a fresh schema, dropped afterwards."""
    with postgres.fresh_schema(POSTGRES_URL, "ingress_test", "INGRESS_TEST_POSTGRES_URL") as (
            url, _schema):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The OAuth stores' DATABASE_URL, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ingress.db"
    return str(request.getfixturevalue("postgres_url"))
