"""Real parts for the router's tests: the OpenAI-compatible stand-in (`servers.py`) and the
router app itself under uvicorn on loopback ports, and a test client on the real bus."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from nats.js.errors import KeyNotFoundError, NotFoundError
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.ids import new_id, utcnow
from triage_contracts.messages import AuditEvent, ModelCall, ModelResult
from triage_router.app import build_app
from triage_router.ledger import DayLedger
from triage_router.settings import Settings

from .conversations import model_call
from .servers import OpenAIStandIn, serve

TEST_KEY = "sk-test-0123456789abcdefghijklmnop"


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandIn]:
    stand_in = OpenAIStandIn()
    async with serve(stand_in.app()) as url:
        stand_in.base_url = f"{url}/v1"
        yield stand_in


ROUTES_YAML = """
version: 1
routes:
  agent:
    - {provider: openai, model: gpt-test, max_tokens: 500,
       price_per_1k_input: 0.5, price_per_1k_output: 1.5}
    - {provider: offline, model: offline-rules-1}
  strict:
    - {provider: openai, model: gpt-test, price_per_1k_input: 0.5, price_per_1k_output: 1.5}
  agent_stream:
    - {provider: openai, model: gpt-test, max_tokens: 500, stream: true,
       price_per_1k_input: 0.5, price_per_1k_output: 1.5}
    - {provider: offline, model: offline-rules-1}
  strict_stream:
    - {provider: openai, model: gpt-test, stream: true,
       price_per_1k_input: 0.5, price_per_1k_output: 1.5}
"""


@pytest.fixture
def routes_file(tmp_path: Path) -> Path:
    """Known prices (cost of a 1000/200-token call: 0.5 + 0.3 = $0.80), openai-only routes
    for the retry path, and the same routes again with streamed answers."""
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES_YAML)
    return path


class Harness:
    """The router app running for real, and a client on the same bus."""

    def __init__(self, url: str, broker: Any, app: FastAPI) -> None:
        self.url = url
        self.broker = broker
        self.app = app
        self.js = jetstream(broker)

    async def send(self, call: ModelCall, msg_id: str | None = None) -> None:
        """Publish a call (a new `msg_id` gets the same call past JetStream's dedupe)."""
        await publish(self.broker, call, subjects.work("model", call.team_id, call.route),
                      msg_id=msg_id)

    async def settled(self, deliveries: int, within: float = 20.0) -> None:
        """Wait until the router has acked `deliveries` messages and holds none."""
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            info = await self.js.consumer_info("WORK", "router")
            if info.ack_floor.stream_seq >= deliveries and not info.num_ack_pending:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the router did not ack {deliveries} messages within {within}s")

    async def result(self, call: ModelCall, within: float = 15.0) -> ModelResult:
        subject = subjects.result(call.team_id, call.run_id)
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            try:
                raw = await self.js.get_last_msg("RESULTS", subject)
                return ModelResult.model_validate_json(raw.data or b"")
            except NotFoundError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"no result on {subject} within {within}s")

    async def collect(self, stream: str, subject: str, count: int,
                      within: float = 10.0) -> list[bytes]:
        sub = await self.js.pull_subscribe(subject, durable=new_id("t"), stream=stream)
        found: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + within
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(TimeoutError):
                for msg in await sub.fetch(10, timeout=0.3):
                    found.append(msg.data)
                    await msg.ack()
        await sub.unsubscribe()
        return found

    async def audit(self, team: str, count: int) -> list[AuditEvent]:
        raw = await self.collect("AUDIT", subjects.audit(team, "router"), count)
        return [AuditEvent.model_validate_json(r) for r in raw]

    async def ledger(self, team: str) -> DayLedger:
        """Today's budget ledger of `team` (spent and held), as the router stored it."""
        kv = await self.js.key_value("triage-idempotency")
        try:
            entry = await kv.get(f"budget.{team}.{utcnow():%Y%m%d}")
        except KeyNotFoundError:
            return DayLedger()
        return DayLedger.decode(entry.value)

    async def routes(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.get("/routes")
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]

    async def metrics(self) -> str:
        async with httpx.AsyncClient(base_url=self.url) as client:
            return (await client.get("/metrics")).text


@pytest.fixture
def with_key(standin: OpenAIStandIn, routes_file: Path) -> dict[str, Any]:
    """Router settings with a key, pointed at the stand-in, with the test routes."""
    return {"openai_api_key": TEST_KEY, "openai_base_url": standin.base_url,
            "routes_file": routes_file}


@pytest.fixture
def start_router(nats_url: str):  # type: ignore[no-untyped-def]
    """`async with start_router(openai_api_key=..., ...) as harness:` runs the real app."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Harness]:
        settings = Settings(nats_url=nats_url, **{"openai_api_key": None, **overrides})
        app = build_app(settings)
        async with serve(app) as url:
            broker = build_broker(nats_url, "tester")
            await broker.connect()
            try:
                yield Harness(url, broker, app)
            finally:
                await broker.stop()

    return start


@pytest.fixture
def make_call():  # type: ignore[no-untyped-def]
    """A first investigation turn (system + question), or with `answered=True` the last
    turn of the demo incident (every tool output in, `tool_choice=none`: the offline rules
    answer with `EXPECTED_ANSWER`)."""
    def make(route: str = "agent", answered: bool = False, **extra: Any) -> ModelCall:
        if answered:
            return model_call(route=route, final=True, **extra)
        return model_call(route=route, plan=[], **extra)

    return make


EXPECTED_ANSWER = """\
• alert HighErrorRate for checkout-api: firing since 2024-05-01T09:10:00Z
• CI has failed since [run #57](https://github.com/demo-org/checkout-api/actions/runs/9001) \
on commit abc1234
• that commit: [Switch payment client to async retries]\
(https://github.com/demo-org/checkout-api/commit/abc1234def5678) by dana
• it came with [PR #40](https://github.com/demo-org/checkout-api/pull/40) \
“Switch payment client to async retries”
• failed job [test](https://github.com/demo-org/checkout-api/actions/runs/9001/job/90012), \
step `Run pytest`
• log: `E   TimeoutError: payment client retry budget exhausted`
• 5xx ratio of checkout-api: 0.2% → 7.0% over 12h, jumped at 2024-05-01 09:00 UTC
• [#42](https://github.com/demo-org/checkout-api/issues/42) “Checkout returns 502 for some \
card payments” (open, bug, incident)
_Offline rules (no model configured): the facts the tools returned, not a diagnosis._"""


@pytest.fixture
def expected_answer() -> str:
    """The offline rules' answer to the demo investigation, byte for byte."""
    return EXPECTED_ANSWER
