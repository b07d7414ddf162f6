"""Dollars held before each call: the call's own cap and the team's day, on real JetStream KV
with several replicas, and end to end through the router. Every revision of the day's
ledger is watched, so "never above the limit" is checked at every step, not just at the end.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.js.kv import KeyValue
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.ids import utcnow
from triage_contracts.streams import Buckets, provision
from triage_router.budget import TeamBudget
from triage_router.cost import worst_case_usd
from triage_router.ledger import EPSILON_USD, DayLedger
from triage_router.routes import load_routes


@contextlib.asynccontextmanager
async def watched(kv: KeyValue, key: str) -> AsyncIterator[list[DayLedger]]:
    """Every revision of `key` written while the block runs, decoded (the key must exist)."""
    seen: list[DayLedger] = []
    last_seen, until = [0], [1 << 62]
    caught_up = asyncio.Event()
    watcher = await kv.watch(key)

    async def read() -> None:
        async for entry in watcher:
            if entry is not None:
                seen.append(DayLedger.decode(entry.value))
                last_seen[0] = entry.revision
                if last_seen[0] >= until[0]:
                    caught_up.set()

    task = asyncio.create_task(read())
    yield seen
    until[0] = (await kv.get(key)).revision
    if last_seen[0] >= until[0]:
        caught_up.set()
    await asyncio.wait_for(caught_up.wait(), 10)  # every revision written has been seen
    await watcher.stop()
    await task


async def ledger_kv(nats_url: str):  # type: ignore[no-untyped-def]
    broker = build_broker(nats_url, "test")
    await broker.connect()
    await provision(jetstream(broker))
    return broker, await jetstream(broker).key_value(Buckets.IDEMPOTENCY.name)


async def test_replicas_holding_at_once_never_overshoot_the_day(nats_url: str) -> None:
    broker, kv = await ledger_kv(nats_url)
    day = datetime(2024, 5, 1, 12, tzinfo=UTC)
    replicas = [TeamBudget(0.35, kv, hold_ttl_s=600, clock=lambda: day) for _ in range(2)]
    key = replicas[0].key("T1")
    await kv.create(key, DayLedger().encode())

    async def one_call(n: int) -> bool:
        budget = replicas[n % 2]
        change = await budget.reserve(key, f"run{n}:s", f"attempt{n}", 0.1)
        if change.ok:
            await asyncio.sleep(0)  # let the others in while this one is "calling"
            await budget.settle(key, f"run{n}:s", f"attempt{n}", 0.03)
        return change.ok

    async with watched(kv, key) as revisions:
        admitted = await asyncio.gather(*(one_call(n) for n in range(40)))
    final = await replicas[1].read(key)
    await broker.stop()

    assert 3 <= sum(admitted) < 40  # CAS across replicas: some fit, the rest were refused
    assert all(r.spent + r.held <= 0.35 + EPSILON_USD for r in revisions)
    assert max(len(r.holds) for r in revisions) == 3  # as many in flight as fit, no more
    assert final.holds == {} and final.spent == pytest.approx(0.03 * sum(admitted))
    assert key == "budget.T1.20240501"


async def test_holds_expire_and_a_new_day_starts_empty(nats_url: str) -> None:
    broker, kv = await ledger_kv(nats_url)
    now = [datetime(2024, 5, 1, 23, 55, tzinfo=UTC)]
    budget = TeamBudget(1.0, kv, hold_ttl_s=600, clock=lambda: now[0])
    key = budget.key("T1")
    assert (await budget.reserve(key, "crashed:s", "a", 0.9)).ok
    assert not (await budget.reserve(key, "next:s", "b", 0.2)).ok
    assert budget.recent_keys("T1") == [key]
    now[0] = datetime(2024, 5, 2, 0, 6, tzinfo=UTC)  # 11 minutes on: the hold has expired
    change = await budget.reserve(key, "next:s", "b", 0.2)
    assert change.ok and change.expired == ("crashed:s",)
    # Just after midnight yesterday's ledger may still hold a call in flight.
    assert budget.recent_keys("T1") == ["budget.T1.20240502", key]
    assert await budget.read(budget.key("T1")) == DayLedger()
    await broker.stop()


def strict_worst(routes_file: Path, call) -> float:  # type: ignore[no-untyped-def]
    return worst_case_usd(call, load_routes(routes_file).routes["strict"][0])


async def test_team_budget_holds_the_worst_case_and_refuses_what_does_not_fit(
    start_router, make_call, standin, with_key
) -> None:
    first, second, third, other_team = (make_call(route="strict"), make_call(route="strict"),
                                        make_call(), make_call(route="strict", team="T2"))
    limit = round(strict_worst(with_key["routes_file"], first) + 0.1, 6)
    async with start_router(**with_key, daily_budget_usd=limit) as router:
        results = []
        for call in (first, second, third, other_team):  # one after the other
            await router.send(call)
            results.append(await router.result(call))
        audit = await router.audit("T1", 3)
        ledgers = [await router.ledger(team) for team in ("T1", "T2")]

    answered, refused, offline, other = results
    assert answered.ok and answered.usage.cost_usd == pytest.approx(0.8)
    assert refused.ok is False and refused.error_code == "team_budget"
    assert refused.error is not None and "does not fit in what is left of the team's daily " \
        f"model budget of ${limit:.6g}" in refused.error
    assert offline.ok and offline.provider == "offline"  # the free target still answers
    assert other.ok and other.provider == "openai"  # budgets are per team
    assert len(standin.requests) == 2  # the refused calls never reached the model
    assert sorted(e.outcome for e in audit) == ["ok", "ok", "team_budget"]
    skipped = next(e for e in audit if e.detail.get("provider") == "offline")
    assert skipped.detail["attempts"][0]["outcome"] == "skipped_team_budget"
    assert ledgers == [DayLedger(spent=0.8), DayLedger(spent=0.8)]


async def test_a_call_whose_worst_case_exceeds_its_cap_is_not_sent(
    start_router, make_call, standin, with_key, expected_answer: str
) -> None:
    capped, refused, fits = (make_call(answered=True, max_cost_usd=0.01),
                             make_call(route="strict", max_cost_usd=0.01),
                             make_call(route="strict", max_cost_usd=5.0))
    async with start_router(**with_key) as router:
        results = []
        for call in (capped, refused, fits):
            await router.send(call)
            results.append(await router.result(call))
        audit = await router.audit("T1", 3)

    fell_back, refusal, answered = results
    assert fell_back.ok and fell_back.content == expected_answer  # the cheaper target
    assert refusal.ok is False and refusal.error_code == "run_budget"
    assert refusal.error is not None and refusal.error.startswith(
        "no target of route 'strict' fits the budget: openai:gpt-test worst case $")
    assert refusal.error.endswith("exceeds this call's cap of $0.01")
    assert answered.ok and answered.provider == "openai"
    assert len(standin.requests) == 1
    first = next(e for e in audit if e.detail.get("provider") == "offline")
    assert first.detail["attempts"][0]["outcome"] == "skipped_run_budget"


async def test_twenty_concurrent_calls_on_two_replicas_stay_within_the_day(
    start_router, make_call, standin, with_key
) -> None:
    standin.mode, standin.slow_s, standin.usage = "slow", 0.3, (300, 50)  # $0.225 a call
    calls = [make_call(route="strict") for _ in range(20)]
    limit = round(3.5 * strict_worst(with_key["routes_file"], calls[0]), 6)  # 3 in flight
    settings = {**with_key, "daily_budget_usd": limit}
    async with start_router(**settings) as one, start_router(**settings) as two:
        kv = await one.js.key_value(Buckets.IDEMPOTENCY.name)
        key = f"budget.T1.{utcnow():%Y%m%d}"
        await kv.create(key, DayLedger().encode())  # so the watch starts at revision one
        async with watched(kv, key) as revisions:
            for n, call in enumerate(calls):
                await (one, two)[n % 2].send(call)
            results = [await one.result(call, within=60) for call in calls]
        final = await one.ledger("T1")

    answered = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    assert answered and refused and {r.error_code for r in refused} == {"team_budget"}
    assert all(r.spent + r.held <= limit + EPSILON_USD for r in revisions), revisions
    assert max(len(r.holds) for r in revisions) >= 2  # calls really were in flight together
    billed = sum(r.usage.cost_usd for r in answered)
    assert billed <= limit and final.spent == pytest.approx(billed) and final.holds == {}
    assert len(standin.requests) == len(answered)
