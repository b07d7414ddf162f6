"""Waiting on a condition in tests: poll until it holds, within a generous bound (the suites
run on loaded 2-core machines), never a fixed sleep."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 30.0,
                     interval: float = 0.1) -> Any:
    """The first truthy result of the coroutine `check()`; AssertionError after `within`
    seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (result := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)
    return result
