"""A PostgreSQL outage while the service runs: events are retried (TemporaryError), never
lost or dead-lettered, and recorded once the database is back; the API answers 503.

The outage is real at the TCP level: the service reaches PostgreSQL through a loopback relay
that the test closes (dropping live connections) and reopens on the same port."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from triage_audit.queries import events
from triage_audit.store import AuditStore
from triage_audit.verify import verify_team
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream
from triage_contracts.messages import AuditKind
from triage_contracts.testing.natsserver import free_port

Until = Callable[..., Awaitable[None]]


class TcpRelay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):  # the other side went away
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self.writers.discard(writer)


async def test_events_published_during_a_database_outage_are_recorded_after_it(
    postgres_schema: tuple[str, str], nats_url: str, audit_service: Any,
    emitter: AuditEmitter, until: Until,
) -> None:
    url, _ = postgres_schema
    relay = TcpRelay(5432)
    await relay.start()
    direct = AuditStore.from_url(url)

    async def recorded(n: int) -> bool:
        return len(await asyncio.to_thread(events, direct.engine, "T1")) >= n

    async with audit_service(nats_url, url.replace(":5432/", f":{relay.port}/")) as app:
        await emitter.emit("T1", "r", AuditKind.REQUEST, "before")
        await until(lambda: recorded(1))

        await relay.stop()
        for i in range(3):
            await emitter.emit("T1", "r", AuditKind.STEP, f"during-{i}")
        js = jetstream(emitter.broker)

        async def redelivering() -> bool:
            info = await js.consumer_info("AUDIT", "audit")
            return info.num_redelivered > 0 or info.num_ack_pending > 0
        await until(redelivering)
        assert len(await asyncio.to_thread(events, direct.engine, "T1")) == 1
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as http:
            unavailable = await http.get("/audit/teams")
        assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "5"

        await relay.start()  # the database is back
        await until(lambda: recorded(4), within=40)

    actions = {e["action"] for e in events(direct.engine, "T1")}
    assert actions == {"before", "during-0", "during-1", "during-2"}
    assert verify_team(direct.engine, "T1").ok
    dlq = await jetstream(emitter.broker).stream_info("DLQ")
    assert dlq.state.messages == 0  # retried, never given up on
    direct.dispose()
    await relay.stop()
