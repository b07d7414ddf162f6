"""The router's parts on their own: routes file, breaker, heartbeat on a real JetStream
consumer (the budget has its own module, test_budget.py)."""

import asyncio
import contextlib
from pathlib import Path

import nats
import pytest
from nats.js import api
from triage_router.breaker import Breakers, BreakerState
from triage_router.progress import keep_alive
from triage_router.routes import RoutesFileError, load_routes
from triage_router.settings import DEFAULT_ROUTES_FILE, Settings


def test_shipped_routes_fall_back_to_offline() -> None:
    routes = load_routes(DEFAULT_ROUTES_FILE)
    for name in ("agent", "classify"):
        targets = routes.routes[name]
        assert [t.provider for t in targets] == ["openai", "offline"]
        assert targets[0].model == "gpt-4o-mini"
    assert Settings(openai_api_key="  ").openai_api_key is None  # "" means no key


def test_bad_routes_file_fails_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("routes:\n  agent:\n    - {provider: offline, model: m, temperature: 2}\n")
    with pytest.raises(RoutesFileError, match=r"agent\.0\.temperature: Extra inputs"):
        load_routes(path)
    path.write_text("routes:\n  agent:\n    - {provider: anthropic, model: m}\n")
    with pytest.raises(RoutesFileError, match="provider"):
        load_routes(path)
    with pytest.raises(RoutesFileError, match="cannot read"):
        load_routes(tmp_path / "missing.yaml")


def test_breaker_opens_after_threshold_then_lets_one_trial_through() -> None:
    now = [0.0]
    breakers = Breakers(threshold=3, reset_s=30, clock=lambda: now[0])
    for _ in range(2):
        breakers.failure("openai:m")
    assert breakers.acquire("openai:m")
    breakers.failure("openai:m")
    assert breakers.state("openai:m") is BreakerState.OPEN
    assert not breakers.acquire("openai:m")
    now[0] = 30.0
    assert breakers.acquire("openai:m")  # the half-open trial
    assert not breakers.acquire("openai:m")  # concurrent callers keep skipping
    breakers.failure("openai:m")
    assert breakers.state("openai:m") is BreakerState.OPEN
    now[0] = 60.0
    assert breakers.acquire("openai:m")
    breakers.success("openai:m")
    assert breakers.state("openai:m") is BreakerState.CLOSED


@pytest.mark.parametrize("beating", [True, False])
async def test_heartbeat_keeps_a_slow_message_from_redelivery(nats_url: str, beating: bool):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="SLOW", subjects=["slow.>"])
    await js.publish("slow.1", b"call")
    sub = await js.pull_subscribe("slow.>", durable="slow", stream="SLOW",
                                  config=api.ConsumerConfig(ack_wait=1.0, max_deliver=3))
    [msg] = await sub.fetch(1, timeout=2)
    redelivered = []
    async with keep_alive(msg.in_progress, 0.3) if beating else contextlib.nullcontext():
        await asyncio.sleep(1.5)  # the "model call" outlasts AckWait
        with contextlib.suppress(TimeoutError):
            redelivered = await sub.fetch(1, timeout=0.5)
    if beating:
        assert redelivered == []
    else:
        assert len(redelivered) == 1 and redelivered[0].metadata.num_delivered == 2
    await nc.close()
