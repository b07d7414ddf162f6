"""Fixtures: the approval service under real uvicorn on a free port, a real nats-server
(root `nats_url`), SQLite in a temp folder, and a separate client on the bus that plays the
orchestrator (publishes requests, reads decisions, audit events and dead letters)."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
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
from triage_contracts.testing.natsserver import free_port

KEY = "test-signing-key-0123456789"
SERVICE_TOKEN = "svc-token-0123456789abcdef"
TEAM = "T_ACME"
REQUESTER = "U_REQ"
BODY = "Root cause: <script>alert('x')</script> & deploy 4f2a\nRolled back at 10:02."


def make_settings(nats_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "nats_url": nats_url, "database_url": f"sqlite:///{tmp_path}/db/approval.db",
        # U_REQ is an approver too, so four-eyes (not the approver list) must stop them.
        "approvers": f"U_ALICE,U_BOB,{REQUESTER},T_OTHER:U_CAROL",
        "approval_signing_key": SecretStr(KEY), "service_token": SecretStr(SERVICE_TOKEN),
        "public_url": "http://approvals.test", "sweep_interval": 0.2,
    }
    return Settings(**{**values, **overrides})


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
class Service:
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings

    async def pending_ids(self) -> list[str]:
        resp = await self.http.get("/api/approvals", params={"status": "pending"})
        return [a["approval_id"] for a in resp.json()["approvals"]]

    async def wait_stored(self, approval_id: str) -> None:
        async def stored() -> bool:
            return (await self.http.get(f"/api/approvals/{approval_id}")).status_code == 200
        await eventually(stored)

    async def decide(self, approval_id: str, user: str | None, decision: str, reason: str = "",
                     **extra: Any) -> httpx.Response:
        headers = {"X-Forwarded-User": user} if user else {}
        headers.update(extra.pop("headers", {}))
        return await self.http.post(f"/api/approvals/{approval_id}/decision", headers=headers,
                                    json={"decision": decision, "reason": reason, **extra})


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    broker = build_broker(nats_url, "orchestrator-stand-in")
    await broker.connect()
    await provision(jetstream(broker))
    yield Bus(broker)
    await broker.stop()


async def serve(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(settings), host="127.0.0.1", port=port,
                                           lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done() and time.monotonic() < deadline, "the service did not start"
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
def settings(nats_url: str, tmp_path: Path) -> Settings:
    return make_settings(nats_url, tmp_path)


@pytest.fixture
async def service(settings: Settings, bus: Bus) -> AsyncIterator[Service]:
    server, task, url = await serve(settings)
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        yield Service(server.config.app, http, settings)
    server.should_exit = True
    await task
