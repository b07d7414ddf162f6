"""Identical reads share one upstream request: during an incident fifty people ask about
the same failing service at once, and almost every tool call fetches the same data.

A read is identified by the team, the credential it runs with (a digest, never the secret),
the tool and its arguments. While one is in flight, identical calls await the same future
instead of sending their own request; its answer is then kept for `ttl_s` seconds (short:
after that GitHub reads are revalidated with their ETag, which costs no quota).

Invariants callers rely on: nothing is ever shared across teams or credentials; a failure
is not cached (every waiter sees it, the next call tries again); writes never come here
(the registry shares only READ tools that declare a credential scope). The shared answer
is one object handed to every caller: callers must not mutate it (the service redacts into
a copy before anything else touches it).
"""

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from triage_contracts.errors import TemporaryError

Key = tuple[str, str, str, str]
T = TypeVar("T")
# Kept answers at most; the oldest go first (each is a tool output of a few KB).
MAX_ENTRIES = 512


def key_of(team_id: str, scope: str, tool: str, arguments: dict[str, Any]) -> Key:
    return team_id, scope, tool, json.dumps(arguments, sort_keys=True, default=str)


class SharedReads:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._flying: dict[Key, asyncio.Future[Any]] = {}
        self._kept: OrderedDict[Key, tuple[float, Any]] = OrderedDict()

    async def read(self, key: Key, fetch: Callable[[], Awaitable[T]]) -> T:
        """`fetch`'s answer, shared with every identical read in flight or recently done."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]  # type: ignore[no-any-return]
        flying = self._flying.get(key)
        if flying is not None:
            # Shielded: one waiter cancelled must not cancel the read for all.
            return await asyncio.shield(flying)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flying[key] = future
        try:
            data = await fetch()
        except asyncio.CancelledError:
            # The caller that fetched went away (a shutdown): the others retry later.
            future.set_exception(TemporaryError("a shared read was cancelled; try again"))
            future.exception()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: nobody else may be waiting
            raise
        else:
            future.set_result(data)
            self._keep(key, data)
            return data
        finally:
            del self._flying[key]

    def _keep(self, key: Key, data: Any) -> None:
        if self.ttl_s <= 0:
            return
        self._kept[key] = (time.monotonic() + self.ttl_s, data)
        self._kept.move_to_end(key)
        while len(self._kept) > MAX_ENTRIES:
            self._kept.popitem(last=False)
