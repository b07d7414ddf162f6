"""Fixtures of the orchestrator tests: the real app in-process (its lifespan: connect,
provision, consumers) against the root fixture's real nats-server, plus the test workers
that answer on the real subjects."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import publish
from triage_contracts.messages import TriageRequest
from triage_contracts.testing.grant_keys import public_keys_env
from triage_orchestrator.app import build_app
from triage_orchestrator.settings import Settings

from .factories import APPROVAL_KEY, REPO
from .workers import Workers


def make_settings(nats_url: str, **kw: object) -> Settings:
    base: dict[str, object] = {
        "nats_url": nats_url, "github_repos": f"{REPO},demo-org/payments-api",
        "approval_public_url": "http://approvals.test",
        "grant_public_keys": public_keys_env(APPROVAL_KEY)["GRANT_PUBLIC_KEYS"],
        "sweep_interval_s": 3600.0,
    }
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture
async def workers(nats_url: str) -> AsyncIterator[Workers]:
    running = await Workers(nats_url).start()
    yield running
    await running.stop()


@pytest.fixture
async def orchestrator(nats_url: str, workers: Workers) -> AsyncIterator[FastAPI]:
    app = build_app(make_settings(nats_url))
    async with app.router.lifespan_context(app):
        yield app


class Bus:
    """A plain client publishing what ingress and the approval service would."""

    def __init__(self, nats_url: str) -> None:
        self.broker = build_broker(nats_url, "test-client")

    async def request(self, request: TriageRequest, msg_id: str | None = None) -> bool:
        subject = subjects.event(request.team_id, request.request_kind.value)
        return await publish(self.broker, request, subject, msg_id=msg_id or request.event_id)


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    client = Bus(nats_url)
    await client.broker.connect()
    yield client
    await client.broker.stop()
