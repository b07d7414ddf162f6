"""The registry's own guarantees, on tools defined here: validation, rate limits, retries,
timeouts. No network: these tools are plain coroutines (the connectors are tested on real
HTTP elsewhere)."""

import asyncio
import time

import pytest
from triage_contracts.errors import TemporaryError
from triage_contracts.messages import ToolStatus
from triage_tools.errors import ToolError
from triage_tools.ratelimit import TokenBucket
from triage_tools.registry import Arguments, CallContext, RateLimit, Tool, ToolRegistry

CTX = CallContext("T1", "r1", "s1")


class EchoArgs(Arguments):
    text: str
    times: int = 1


def registry_with(run: object, **options: object) -> tuple[ToolRegistry, Tool]:
    tool = Tool("test.echo", "Echo the text.", EchoArgs, run, **options)  # type: ignore[arg-type]
    return ToolRegistry([tool]), tool


async def test_success_and_no_data() -> None:
    async def echo(args: EchoArgs, _: CallContext) -> list[str]:
        return [args.text] * args.times

    registry, tool = registry_with(echo)
    assert await registry.invoke(tool, EchoArgs(text="hi", times=2), CTX) == (
        ToolStatus.SUCCESS, ["hi", "hi"])
    assert await registry.invoke(tool, EchoArgs(text="hi", times=0), CTX) == (
        ToolStatus.NO_DATA, [])


def test_unknown_tools_and_duplicates() -> None:
    registry, tool = registry_with(None)
    with pytest.raises(ToolError, match=r"unknown tool 'nope'; available tools: \['test.echo'\]"):
        registry.get("nope")
    with pytest.raises(ValueError, match="registered twice"):
        registry.add(tool)


def test_argument_errors_are_listed_for_the_model() -> None:
    registry, tool = registry_with(None)
    with pytest.raises(ToolError) as caught:
        registry.parse(tool, {"times": "many", "colour": "red"})
    message = str(caught.value)
    assert "text: Field required" in message
    assert "times: Input should be a valid integer" in message and "(got 'many')" in message
    assert "colour: Extra inputs are not permitted" in message
    assert message.endswith("Accepted arguments: text, times")


async def test_temporary_failures_are_retried_then_raised() -> None:
    attempts: list[float] = []

    async def flaky(args: EchoArgs, _: CallContext) -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise TemporaryError("upstream 503")
        return args.text

    registry, tool = registry_with(flaky, retries=2)
    assert await registry.invoke(tool, EchoArgs(text="ok"), CTX) == (ToolStatus.SUCCESS, "ok")
    assert len(attempts) == 3 and attempts[2] - attempts[0] >= 0.5  # 0.2 s then 0.4 s

    attempts.clear()
    registry, tool = registry_with(flaky, retries=1)
    with pytest.raises(TemporaryError, match="upstream 503"):
        await registry.invoke(tool, EchoArgs(text="ok"), CTX)
    assert len(attempts) == 2


async def test_tool_errors_are_not_retried() -> None:
    calls = 0

    async def rejected(args: EchoArgs, _: CallContext) -> str:
        nonlocal calls
        calls += 1
        raise ToolError("GitHub answered 422")

    registry, tool = registry_with(rejected, retries=3)
    with pytest.raises(ToolError):
        await registry.invoke(tool, EchoArgs(text="x"), CTX)
    assert calls == 1


async def test_a_slow_tool_times_out_as_temporary() -> None:
    async def slow(args: EchoArgs, _: CallContext) -> str:
        await asyncio.sleep(5)
        return "late"

    registry, tool = registry_with(slow, timeout_s=0.2, retries=0)
    started = time.monotonic()
    with pytest.raises(TemporaryError, match=r"test.echo timed out after 0.2s"):
        await registry.invoke(tool, EchoArgs(text="x"), CTX)
    assert time.monotonic() - started < 1.0


async def test_rate_limit_waits_briefly_then_defers_to_jetstream() -> None:
    async def echo(args: EchoArgs, _: CallContext) -> str:
        return args.text

    registry, tool = registry_with(echo, rate=RateLimit(per_second=5.0, burst=2))
    started = time.monotonic()
    for _ in range(3):  # two from the burst, the third after ~0.2 s in-process
        await registry.invoke(tool, EchoArgs(text="x"), CTX)
    assert 0.15 < time.monotonic() - started < 1.0

    registry, tool = registry_with(echo, rate=RateLimit(per_second=0.1, burst=1))
    await registry.invoke(tool, EchoArgs(text="x"), CTX)
    with pytest.raises(TemporaryError, match="rate limit of test.echo") as caught:
        await registry.invoke(tool, EchoArgs(text="x"), CTX)
    assert caught.value.delay is not None and 9.0 < caught.value.delay <= 10.0


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=1)
    assert bucket.try_acquire() == 0.0
    wait = bucket.try_acquire()
    assert 0.05 < wait <= 0.1
    time.sleep(wait)
    assert bucket.try_acquire() == 0.0
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=0, burst=1)


async def test_retries_stop_within_the_time_budget() -> None:
    attempts = 0

    async def hanging(args: EchoArgs, _: CallContext) -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(5)
        return "late"

    tool = Tool("test.echo", "Echo.", EchoArgs, hanging, timeout_s=0.3, retries=5)
    registry = ToolRegistry([tool], budget_s=1.0)
    started = time.monotonic()
    with pytest.raises(TemporaryError, match="timed out"):
        await registry.invoke(tool, EchoArgs(text="x"), CTX)
    # 0.3 s, pause 0.2 s, 0.3 s; a third attempt would end after the 1.0 s budget.
    assert attempts == 2 and time.monotonic() - started < 1.0
