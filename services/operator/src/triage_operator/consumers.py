"""The workspace's durable JetStream consumers, created and removed with nats-py directly.

Per-workspace workers consume team-scoped consumers (`<durable>-<team>`). The operator
creates them before the workers start, so the filters are in place (and a conflict is
reported on the Workspace) instead of being discovered by crash-looping pods. WORK is a
work-queue stream: two consumers there may not have overlapping filters, so a shared
`tools` consumer on `triage.work.tool.>` makes `tools-<team>` impossible; that is reported
as a `ConsumerConflict`, which only an operator decision (disable the shared workers) fixes.
"""

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError
from triage_contracts.errors import PermanentError, TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.natsauth import NatsAuth
from triage_contracts.streams import Consumers, ConsumerSpec, provision_consumer

log = get_logger(__name__)

# JetStream error codes for overlapping consumers on a work-queue stream.
WORKQUEUE_CONFLICTS = {10099, 10100}

WORKSPACE_CONSUMERS: tuple[ConsumerSpec, ...] = (
    Consumers.ORCHESTRATOR_EVENTS,
    Consumers.ORCHESTRATOR_RESULTS,
    Consumers.ORCHESTRATOR_DECISIONS,
    Consumers.TOOLS,
    Consumers.ROUTER,
    Consumers.NOTIFIER,
)


class NatsUnavailable(TemporaryError):
    """NATS cannot be reached or answers with a transient error: retry later."""


class ConsumerConflict(PermanentError):
    """A consumer cannot exist next to another one (work-queue filter overlap)."""


@dataclass(frozen=True)
class ConsumerRef:
    stream: str
    name: str
    filter_subject: str

    def as_status(self) -> dict[str, str]:
        return {"stream": self.stream, "name": self.name, "filterSubject": self.filter_subject}

    @classmethod
    def from_status(cls, item: dict[str, Any]) -> "ConsumerRef":
        return cls(item["stream"], item["name"], item.get("filterSubject", ""))


def safe_url(url: str) -> str:
    """The URL without user:password, for messages that end up in status and logs."""
    return re.sub(r"//[^/@\s,]+@", "//***@", url)


def desired(team: str, own_audit: bool = False) -> list[ConsumerSpec]:
    # With its own database (`secretRefs.database`) the team's audit worker chains its
    # events there too. AUDIT keeps every message for every consumer (limits retention),
    # so the shared audit goes on recording them.
    specs = WORKSPACE_CONSUMERS + ((Consumers.AUDIT,) if own_audit else ())
    return [spec.for_team(team) for spec in specs]


def refs(specs: Iterable[ConsumerSpec]) -> list[ConsumerRef]:
    return [ConsumerRef(s.stream, s.durable, s.filter_subject) for s in specs]


async def _quiet(exc: Exception) -> None:
    # nats-py prints a traceback per failed attempt by default; the caller reports once.
    log.debug("nats connection error", error=str(exc))


@asynccontextmanager
async def jetstream(url: str, wait_s: float, auth: NatsAuth
                    ) -> AsyncIterator[JetStreamContext]:
    """A short-lived connection that fails fast: the operator retries with backoff itself."""
    try:
        nc: Client = await nats.connect(
            url, connect_timeout=wait_s, allow_reconnect=False, max_reconnect_attempts=1,
            reconnect_time_wait=0.1, error_cb=_quiet, name="triage-operator",
            **auth.connect_options(),
        )
    except (NatsError, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise NatsUnavailable(f"cannot connect to NATS at {safe_url(url)}: {reason}") from exc
    try:
        yield nc.jetstream(timeout=wait_s)
    finally:
        await nc.close()


async def ensure(url: str, team: str, stale: Iterable[ConsumerRef], wait_s: float,
                 auth: NatsAuth, own_audit: bool = False) -> list[ConsumerRef]:
    """Create/update the team's consumers, delete the stale ones (e.g. those of a previous
    teamId, or the audit one of a database no longer named) on the streams the provisioner
    made. Returns the consumers that now exist."""
    specs = desired(team, own_audit)
    wanted = refs(specs)
    try:
        async with jetstream(url, wait_s, auth) as js:
            for spec in specs:
                await _add(js, spec)
            await _delete(js, [ref for ref in stale if ref not in wanted])
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"NATS request failed: {exc or type(exc).__name__}") from exc
    return wanted


async def remove(url: str, consumers: Iterable[ConsumerRef], wait_s: float,
                 auth: NatsAuth) -> None:
    try:
        async with jetstream(url, wait_s, auth) as js:
            await _delete(js, consumers)
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"NATS request failed: {exc or type(exc).__name__}") from exc


async def _add(js: JetStreamContext, spec: ConsumerSpec) -> None:
    try:
        await provision_consumer(js, spec)
    except APIError as exc:
        if exc.code is not None and exc.code >= 500:
            raise  # no leader, JetStream starting: transient
        hint = ""
        if exc.err_code in WORKQUEUE_CONFLICTS:
            hint = (" A shared consumer on the same work-queue subjects must be removed"
                    " (Helm chart: sharedWorkers.enabled=false).")
        raise ConsumerConflict(
            f"consumer {spec.durable} on {spec.stream} ({spec.filter_subject}) cannot be "
            f"created: {exc}.{hint}"
        ) from exc


async def _delete(js: JetStreamContext, consumers: Iterable[ConsumerRef]) -> None:
    for ref in consumers:
        try:
            await js.delete_consumer(ref.stream, ref.name)
            log.info("deleted consumer", stream=ref.stream, consumer=ref.name)
        except NotFoundError:
            pass  # already gone: deletion is idempotent
