"""One key at a time: messages of the same run handled serially, different runs at once.

A consumer handles up to CONSUMER_CONCURRENCY messages together (consume.subscribe). Where
two messages of one run must not overlap (the orchestrator's steps of a run, the
notifier's posts of a run), the handler holds the run's lock. Waiters are served first
come, first served (asyncio.Lock is fair), and the worker pool starts handlers in the
order their messages were fetched, so a run's messages are handled in stream order
within one process. Across replicas only the run's own state (the orchestrator's
compare-and-set) orders them; this lock saves the wasted work of a process racing itself.
"""

from asyncio import Lock
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Slot:
    lock: Lock = field(default_factory=Lock)
    users: int = 0


class KeyedLock:
    """A lock per key, created on first use and dropped when its last user leaves (so a
    long-lived process does not keep one per run it ever saw)."""

    def __init__(self) -> None:
        self._slots: dict[Hashable, _Slot] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        slot = self._slots.setdefault(key, _Slot())
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[key]

    def __len__(self) -> int:
        """Keys currently held or waited on."""
        return len(self._slots)
