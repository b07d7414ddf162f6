"""Fixtures of the tools tests: the GitHub, Prometheus and Alertmanager stand-ins under real
uvicorn on free ports (reached by the real PyGithub and httpx clients), and the tools
service running in-process against the root conftest's real nats-server.

The stand-ins serve the `demo` world; a test module that needs the on-call world (pull
requests #39/#40 with files, sev1 issues, the injection issue) overrides `world_name`."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from pydantic import SecretStr
from triage_contracts import subjects
from triage_contracts.approvals import action_digest
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.grants import GrantClaims
from triage_contracts.ids import new_id
from triage_contracts.messages import ApprovalGrant, AuditEvent, Decision, ToolCall, ToolResult
from triage_contracts.testing.grant_keys import GrantKeyPair, public_keys_env
from triage_contracts.testing.natsserver import free_port
from triage_sandbox.alertmanager_api import build_alertmanager_api
from triage_sandbox.demo_data import Demo, build_demo
from triage_sandbox.github_api import build_github_api
from triage_sandbox.prometheus_api import build_prometheus_api
from triage_sandbox.world.model import Person
from triage_tools.app import build_app
from triage_tools.settings import Settings

TEAM = "T1"
GITHUB_TOKEN = "ghp_SandboxTokenForTests0123456789"
# Someone else who may comment on the same issues (not the bot).
OTHER_TOKEN = "ghp_SomeoneElsesTokenForTests01234"
OTHER = Person("mallory", "Mallory Outsider", 3001, member=False)
# The approval service's key pair: the tools service is given the public half only.
APPROVAL_KEY = GrantKeyPair.generate("approval-test")
REPOS = ["demo-org/checkout-api", "demo-org/payments-api"]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI `app` under real uvicorn in a thread; stopped through uvicorn's own exit
    flag."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class StandIn:
    url: str
    app: FastAPI

    def get(self, path: str) -> Any:
        return httpx.get(self.url + path, timeout=5).json()

    def post(self, path: str, body: dict[str, Any], token: str | None = GITHUB_TOKEN) -> Any:
        headers = {"Authorization": f"token {token}"} if token else {}
        return httpx.post(self.url + path, json=body, headers=headers, timeout=5).json()


@pytest.fixture
def world_name() -> str:
    return "demo"


@pytest.fixture
def demo(world_name: str) -> Demo:
    return build_demo(world=world_name)


@pytest.fixture
def github(demo: Demo) -> Iterator[StandIn]:
    app = build_github_api(token=GITHUB_TOKEN, demo=demo, others={OTHER_TOKEN: OTHER})
    with serve(app) as url:
        yield StandIn(url, app)


@pytest.fixture
def prometheus(demo: Demo) -> Iterator[StandIn]:
    app = build_prometheus_api(demo)
    with serve(app) as url:
        yield StandIn(url, app)


@pytest.fixture
def alertmanager(demo: Demo) -> Iterator[StandIn]:
    app = build_alertmanager_api(demo)
    with serve(app) as url:
        yield StandIn(url, app)


@pytest.fixture
def settings(nats_url: str, github: StandIn, prometheus: StandIn,
             alertmanager: StandIn) -> Settings:
    return Settings(
        nats_url=nats_url, github_api_url=github.url, github_token=SecretStr(GITHUB_TOKEN),
        github_repos=REPOS, prometheus_url=prometheus.url, alertmanager_url=alertmanager.url,
        tool_timeout_s=3.0, grant_public_keys=public_keys_env(APPROVAL_KEY)["GRANT_PUBLIC_KEYS"],
    )


class Harness:
    """Drives the running service the way the orchestrator does: over JetStream only, on a
    connection of its own as `test-admin` (the service's identity may not send itself work)."""

    def __init__(self, app: FastAPI, broker: NatsBroker) -> None:
        self.app = app
        self.broker = broker

    def tool_call(self, tool: str, arguments: dict[str, Any], run_id: str | None = None,
                  step_id: str = "s1", grant: ApprovalGrant | None = None) -> ToolCall:
        return ToolCall(team_id=TEAM, run_id=run_id or new_id("r"), step_id=step_id,
                        tool=tool, arguments=arguments, grant=grant)

    async def send(self, call: ToolCall, msg_id: str | None = None) -> None:
        name = call.tool.replace(".", "_") or "none"
        await publish(self.broker, call, subjects.work("tool", TEAM, name),
                      msg_id=msg_id or f"{call.run_id}:{call.step_id}:call")

    async def result(self, call: ToolCall, within: float = 20.0) -> ToolResult:
        sub = await jetstream(self.broker).pull_subscribe(
            subjects.result(TEAM, call.run_id), stream="RESULTS")
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                for msg in await sub.fetch(10, timeout=0.5):
                    result = ToolResult.model_validate_json(msg.data)
                    if result.step_id == call.step_id:
                        await sub.unsubscribe()
                        return result
            except TimeoutError:
                pass
        raise AssertionError(f"no ToolResult for {call.tool} step {call.step_id}")

    async def call(self, tool: str, arguments: dict[str, Any], **kw: Any) -> ToolResult:
        call = self.tool_call(tool, arguments, **kw)
        await self.send(call)
        return await self.result(call)

    async def all_results(self, run_id: str, settle: float = 0.5) -> list[ToolResult]:
        return [ToolResult.model_validate_json(d)
                for d in await self._drain(subjects.result(TEAM, run_id), "RESULTS", settle)]

    async def audit(self, run_id: str, count: int, within: float = 10.0) -> list[AuditEvent]:
        deadline = time.monotonic() + within
        while True:
            events = [AuditEvent.model_validate_json(d) for d in await self._drain(
                subjects.audit(TEAM, "tools"), "AUDIT", 0.3)]
            events = [e for e in events if e.run_id == run_id]
            if len(events) >= count or time.monotonic() > deadline:
                return events
            await asyncio.sleep(0.2)

    async def acked(self, count: int, within: float = 10.0) -> None:
        """Wait until the tools consumer has acknowledged `count` deliveries."""
        js = jetstream(self.broker)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            info = await js.consumer_info("WORK", "tools")
            if info.ack_floor.consumer_seq >= count and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the tools consumer did not ack {count} deliveries")

    async def _drain(self, subject: str, stream: str, settle: float) -> list[bytes]:
        sub = await jetstream(self.broker).pull_subscribe(subject, stream=stream)
        data: list[bytes] = []
        try:
            while True:
                data += [m.data for m in await sub.fetch(100, timeout=settle)]
        except TimeoutError:
            pass
        await sub.unsubscribe()
        return data


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Harness]:
    """The tools service in-process: connected, provisioned, consuming."""
    app = build_app(settings)
    admin = build_broker(settings.nats_url, "test-harness")
    await admin.connect()
    try:
        async with app.router.lifespan_context(app):
            yield Harness(app, admin)
    finally:
        await admin.stop()


@pytest.fixture
async def tools(settings: Settings) -> AsyncIterator[Harness]:
    async with running(settings) as harness:
        yield harness


@pytest.fixture
def start_tools() -> Any:
    """For tests that need other settings than the default fixture's."""
    return running


def grant_for(call: ToolCall, key: GrantKeyPair = APPROVAL_KEY, approver: str = "U_APPROVER",
              arguments: dict[str, Any] | None = None, at: datetime | None = None,
              ttl: timedelta = timedelta(hours=1)) -> ApprovalGrant:
    """What the approval service issues: Ed25519 over the digest of the approved action."""
    digest = action_digest(call.tool, call.arguments if arguments is None else arguments,
                           call.run_id, call.team_id)
    approval_id = new_id("ap")
    at = at or datetime.now(UTC)
    claims = GrantClaims(kid=key.kid, team_id=call.team_id, approval_id=approval_id,
                         action_digest=digest, decision=Decision.APPROVE, approver_id=approver,
                         decided_at=at, expires_at=at + ttl)
    return ApprovalGrant(approval_id=approval_id, action_digest=digest, approver_id=approver,
                         decided_at=at, signature=key.sign(claims), kid=key.kid,
                         expires_at=claims.expires_at)


@pytest.fixture
def make_grant() -> Any:
    return grant_for
