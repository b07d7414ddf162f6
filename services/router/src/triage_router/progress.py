"""In-progress acks while a long model call runs.

JetStream redelivers a message whose ack does not arrive within AckWait; a model call can
outlast it, and a redelivery would pay for the same answer twice. A heartbeat resets the
timer every `interval` seconds for as long as the work runs."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from nats.errors import Error as NatsError
from triage_contracts.logs import get_logger

log = get_logger("triage.router.progress")
Beat = Callable[[], Awaitable[None]]


@asynccontextmanager
async def keep_alive(beat: Beat, interval: float) -> AsyncIterator[None]:
    task = asyncio.create_task(_beat_forever(beat, interval))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _beat_forever(beat: Beat, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await beat()
        except NatsError as exc:
            # A missed heartbeat risks only a redelivery (deduplicated downstream); the call
            # itself must go on.
            log.warning("in-progress ack failed", error=str(exc))
