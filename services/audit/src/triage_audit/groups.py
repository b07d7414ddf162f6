"""Group commit: the consumer's concurrent handlers hand their events to one writer, which
appends whatever has gathered in one transaction (store.append_many) and answers each
handler after the commit; each handler then returns (ack) or raises (the contracts'
mapping naks or dead-letters its own message).

No timer: while one group is being written the next one gathers, so a group is as large
as the load makes it (one event when idle, up to CONSUMER_CONCURRENCY under a burst).
Handlers queue in the order their messages were fetched, so events are chained in
stream order as before. A group that fails:

- because the database is down: every event gets that error (all nak'ed, retried later);
- for any other reason (one poison event, a conflict): each event is appended on its own,
  so only the event at fault fails and the others are stored and acked.
"""

import asyncio
from contextlib import suppress

from triage_contracts.errors import TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditEvent

from .retry_policy import is_outage
from .store import Appended, AuditStore

log = get_logger("triage.audit.groups")
Waiting = tuple[AuditEvent, "asyncio.Future[Appended]"]


class GroupWriter:
    def __init__(self, store: AuditStore, max_group: int) -> None:
        self.store = store
        self.max_group = max_group
        self._queue: asyncio.Queue[Waiting] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def append(self, event: AuditEvent) -> Appended:
        """Append `event` in the next group; returns once that group is committed."""
        if self._task is None or self._task.done():  # started on the consumer's own loop
            self._task = asyncio.create_task(self._write_forever(), name="audit-groups")
        done: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, done))
        return await done

    async def stop(self) -> None:
        """Stop writing: a handler still waiting fails (its message is redelivered, and a
        copy already committed is recognised as a duplicate)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            _fail(self._queue.get_nowait()[1], _stopping())

    async def _write_forever(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self.max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._write(group)

    async def _write(self, group: list[Waiting]) -> None:
        try:
            results = await asyncio.to_thread(self.store.append_many, [e for e, _ in group])
        except asyncio.CancelledError:
            for _, done in group:
                _fail(done, _stopping())
            raise
        except Exception as exc:
            if len(group) == 1 or is_outage(exc):
                for _, done in group:
                    _fail(done, exc)
                return
            log.info("audit group failed; appending its events one by one",
                     size=len(group), error=str(exc))
            for waiting in group:
                await self._write_one(*waiting)
            return
        for (_, done), appended in zip(group, results, strict=True):
            _resolve(done, appended)

    async def _write_one(self, event: AuditEvent, done: "asyncio.Future[Appended]") -> None:
        try:
            _resolve(done, await asyncio.to_thread(self.store.append, event))
        except Exception as exc:
            _fail(done, exc)


def _stopping() -> TemporaryError:
    return TemporaryError("the audit service is stopping")


def _resolve(done: "asyncio.Future[Appended]", appended: Appended) -> None:
    if not done.done():  # done: its handler was cancelled (shutdown), JetStream redelivers
        done.set_result(appended)


def _fail(done: "asyncio.Future[Appended]", error: BaseException) -> None:
    if not done.done():
        done.set_exception(error)
