"""Fixtures: the approval service under real uvicorn on a free port, a real nats-server
(root `nats_url`), SQLite in a temp folder, and a separate client on the bus that plays the
orchestrator (publishes requests, reads decisions, audit events and dead letters)."""

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from nats.js.errors import NotFoundError
from pydantic import BaseModel, SecretStr
from triage_approval.app import build_app
from triage_approval.settings import Settings
from triage_contracts import subjects
from triage_contracts.approvals import action_digest
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.grants import (
    GrantClaims,
    GrantRefused,
    Keyring,
    TrustedKey,
    claims_of_decision,
)
from triage_contracts.ids import new_id, utcnow
from triage_contracts.messages import (
    ApprovalDecision,
    ApprovalRequest,
    AuditEvent,
    DeadLetter,
    Evidence,
    ProposedAction,
)
from triage_contracts.streams import provision
from triage_contracts.testing.grant_keys import GrantKeyPair
from triage_contracts.testing.natsserver import free_port

from .idp import CLIENT_ID, CLIENT_SECRET, IdP, build_idp_app

# The grant key pair: the service signs with the private half, tests verify with the public.
APPROVAL_KEY = GrantKeyPair.generate("approval-test")
SERVICE_TOKEN = "svc-token-0123456789abcdef"
SESSION_SECRET = "session-secret-0123456789abcdef"
PROXY_AUDIENCE = "approvals-proxy"
TEAM = "T_ACME"
REQUESTER = "U_REQ"
BODY = "Root cause: <script>alert('x')</script> & deploy 4f2a\nRolled back at 10:02."


def make_settings(nats_url: str, tmp_path: Path, idp_url: str | None = None,
                  **overrides: Any) -> Settings:
    """The service as tests run it; with an IdP stand-in, both OIDC login and proxy JWTs
    (signed by the stand-in's keys) are configured against it."""
    port = overrides.pop("port", None) or free_port()
    values: dict[str, Any] = {
        "nats_url": nats_url, "database_url": f"sqlite:///{tmp_path}/db/approval.db",
        "host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}",
        # U_REQ is an approver too, so four-eyes (not the approver list) must stop them.
        "approvers": f"U_ALICE,U_BOB,{REQUESTER},T_OTHER:U_CAROL",
        "grant_signing_key": SecretStr(APPROVAL_KEY.private_pem),
        "grant_signing_key_id": APPROVAL_KEY.kid, "service_token": SecretStr(SERVICE_TOKEN),
        "sweep_interval": 0.2,
        "session_secret": SecretStr(SESSION_SECRET), "directory_cache_seconds": 0.0,
    }
    if idp_url is not None:
        values |= {"oidc_issuer": idp_url, "oidc_client_id": CLIENT_ID,
                   "oidc_client_secret": SecretStr(CLIENT_SECRET),
                   "proxy_jwks_url": f"{idp_url}/jwks", "proxy_jwt_issuer": idp_url,
                   "proxy_jwt_audience": PROXY_AUDIENCE}
    return Settings(**{**values, **overrides})


def verify_signed(decision: ApprovalDecision) -> GrantClaims:
    """The decision's claims, verified as the orchestrator does (public key only); a
    stranger's key under the same id is refused."""
    trusted = Keyring({APPROVAL_KEY.kid: TrustedKey(APPROVAL_KEY.private.public_key())})
    claims = trusted.authenticate(claims_of_decision(decision), decision.signature)
    stranger = GrantKeyPair.generate(APPROVAL_KEY.kid).private.public_key()
    with pytest.raises(GrantRefused):
        Keyring({APPROVAL_KEY.kid: TrustedKey(stranger)}).authenticate(claims,
                                                                       decision.signature)
    return claims


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = re.search(r'name="csrf_token" value="([A-Za-z0-9_-]{20,})"', html)
    assert match, "the page's forms carry the session's CSRF token"
    return match.group(1)


def approval_request(team: str = TEAM, expires_in: float = 600, **overrides: Any
                     ) -> ApprovalRequest:
    run_id = overrides.pop("run_id", new_id("run-"))
    args = {"repo": "demo-org/checkout-api", "issue_number": 42, "body": BODY}
    action = overrides.pop("action", None) or ProposedAction(
        tool="github.comment_issue", arguments=args, summary="Comment the root cause on #42")
    values: dict[str, Any] = {
        "team_id": team, "run_id": run_id, "approval_id": new_id("ap-"),
        "requester_id": REQUESTER, "action": action,
        "action_digest": action_digest(action.tool, action.arguments, run_id, team),
        "evidence": [
            Evidence(source="github.commit", title="deploy 4f2a changed the timeout",
                     url="https://github.example/demo-org/checkout-api/commit/4f2a"),
            Evidence(source="note", title="sneaky link", url="javascript:alert(1)"),
        ],
        "draft_answer": "checkout-api fails since deploy 4f2a.",
        "question": "why is checkout-api failing?", "channel_id": "C1", "thread_ts": "1.2",
        "expires_at": utcnow() + timedelta(seconds=expires_in),
    }
    return ApprovalRequest(**{**values, **overrides})


async def eventually[T](probe: Callable[[], Awaitable[T]], within: float = 10.0) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            assert value, f"condition not met within {within}s"
            return value
        await asyncio.sleep(0.05)


@dataclass
class Bus:
    """The orchestrator's side of the bus, for tests."""

    broker: NatsBroker

    async def request(self, req: ApprovalRequest) -> ApprovalRequest:
        await publish(self.broker, req, subjects.approval_request(req.team_id))
        return req

    async def read[M: BaseModel](self, stream: str, subject: str, model: type[M]) -> list[M]:
        js, out, seq = jetstream(self.broker), [], 1
        while True:
            try:
                raw = await js.get_msg(stream, seq=seq, subject=subject, next=True)
            except NotFoundError:
                return out
            out.append(model.model_validate_json(raw.data or b""))
            seq = (raw.seq or seq) + 1

    async def decisions(self) -> list[ApprovalDecision]:
        return await self.read("APPROVALS", "triage.approval.decision.>", ApprovalDecision)

    async def audit(self) -> list[AuditEvent]:
        return await self.read("AUDIT", "triage.audit.>", AuditEvent)

    async def dead_letters(self) -> list[DeadLetter]:
        return await self.read("DLQ", "triage.dlq.>", DeadLetter)


@dataclass
class Person:
    """One person's browser-or-script: their own cookie jar, and the proxy's JWT naming
    them (their team in Slack's claim) on every request."""

    http: httpx.AsyncClient

    async def csrf(self) -> str:
        resp = await self.http.get("/auth/session")
        assert resp.status_code == 200, resp.text
        return str(resp.json()["csrf_token"])

    async def decide(self, approval_id: str, decision: str, reason: str = "",
                     **body: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": await self.csrf()}
        return await self.http.post(f"/api/approvals/{approval_id}/decision", headers=headers,
                                    json={"decision": decision, "reason": reason, **body})


@dataclass
class Service:
    app: FastAPI
    http: httpx.AsyncClient  # anonymous: no credentials at all
    settings: Settings
    idp: IdP
    people: list[Person] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def person(self, user: str, team: str | None = TEAM, **claims: Any) -> Person:
        token = self.idp.mint({"https://slack.com/user_id": user, **claims,
                               **({"https://slack.com/team_id": team} if team else {})},
                              audience=PROXY_AUDIENCE)
        person = Person(httpx.AsyncClient(base_url=self.url, timeout=15,
                                          headers={"Authorization": f"Bearer {token}"}))
        self.people.append(person)
        return person

    async def as_service(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def pending_ids(self, team: str = TEAM) -> list[str]:
        resp = await self.as_service("GET", "/api/approvals",
                                     params={"status": "pending", "team_id": team})
        return [a["approval_id"] for a in resp.json()["approvals"]]

    async def item(self, approval_id: str, team: str = TEAM) -> httpx.Response:
        return await self.as_service("GET", f"/api/approvals/{approval_id}",
                                     params={"team_id": team})

    async def wait_stored(self, approval_id: str, team: str = TEAM) -> None:
        async def stored() -> bool:
            return (await self.item(approval_id, team)).status_code == 200
        await eventually(stored)

    async def decide(self, approval_id: str, user: str, decision: str, reason: str = "",
                     team: str | None = TEAM) -> httpx.Response:
        return await self.person(user, team).decide(approval_id, decision, reason)

    async def close(self) -> None:
        for person in self.people:
            await person.http.aclose()


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    broker = build_broker(nats_url, "orchestrator-stand-in")
    await broker.connect()
    await provision(jetstream(broker))
    yield Bus(broker)
    await broker.stop()


async def serve_asgi(app: Any, port: int | None = None
                     ) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done() and time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


async def serve(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """The service under uvicorn on its settings' port (PUBLIC_URL points there)."""
    return await serve_asgi(build_app(settings), settings.port)


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task


class Threaded:
    """An ASGI app under uvicorn in a thread with its own event loop."""

    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    lifespan="on", log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> "Threaded":
        self.thread.start()
        deadline = time.monotonic() + 120  # generous: a loaded 2-core CI machine
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
async def idp() -> AsyncIterator[IdP]:
    port = free_port()
    provider = IdP(issuer=f"http://127.0.0.1:{port}")
    server, task, _ = await serve_asgi(build_idp_app(provider), port)
    yield provider
    await stop(server, task)


@pytest.fixture
def settings(nats_url: str, tmp_path: Path, idp: IdP) -> Settings:
    return make_settings(nats_url, tmp_path, idp.issuer)


@pytest.fixture
async def service(settings: Settings, bus: Bus, idp: IdP) -> AsyncIterator[Service]:
    server, task, url = await serve(settings)
    idp.redirect_uris.add(f"{settings.public_url}/auth/callback")
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        running = Service(server.config.app, http, settings, idp)
        yield running
        await running.close()
    await stop(server, task)
