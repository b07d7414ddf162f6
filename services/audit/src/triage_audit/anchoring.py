"""The service's anchoring: when to make a checkpoint batch, and what verify trusts.

A batch is made at start (anything appended while no one anchored), whenever a team has
`AUDIT_CHECKPOINT_EVERY` events past its last checkpoint (the handler calls `note`), every
`AUDIT_CHECKPOINT_INTERVAL_S` for teams whose head moved, and once more at shutdown. Events
after the last batch are the exposure window (docs/security-audit.md). Keys are loaded at
start, not at build (no I/O in build_app); a failing batch is logged and retried on the
next trigger, never fatal: appending never waits for anchoring.
"""

import asyncio
import contextlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import new_id
from triage_contracts.logs import get_logger

from .checkpointer import Checkpointer, Outcome
from .keys import trusted_keys
from .settings import Settings
from .sinks import Sink, parse_sinks
from .verify import Trust
from .verify_log import read_trust

log = get_logger("triage.audit.anchor")
FINAL_BATCH_TIMEOUT_S = 15.0
RETRY_AFTER_FAILURE_S = 5.0


class Anchoring:
    """The service object of anchoring: keys and sinks (loaded at start), the batch loop,
    and what the API's verify trusts."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.sinks: list[Sink] = []
        self.public_keys: dict[str, Ed25519PublicKey] = {}
        self.checkpointer: Checkpointer | None = None
        self.anchored: dict[str, int] = {}
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.sinks = parse_sinks(self.settings.sink_spec())
        key, self.public_keys = await asyncio.to_thread(
            trusted_keys, self.settings, not self.settings.is_production())
        if key is None:  # settings refuse this in production; development generates one
            raise ValueError("no checkpoint key: set AUDIT_CHECKPOINT_KEY_FILE")
        if key.development:
            log.warning("using a DEVELOPMENT audit checkpoint key, generated locally: not for "
                        "production (set AUDIT_CHECKPOINT_KEY_FILE)", key_id=key.key_id,
                        path=key.source)
        if not self.sinks:
            log.error("no anchor sink configured (AUDIT_ANCHOR_SINKS): no checkpoints are "
                      "made, and rewriting, truncating or deleting the chain is not detectable",
                      key_id=key.key_id)
            return
        log.info("audit anchoring", key_id=key.key_id, sinks=[s.url for s in self.sinks])
        self.checkpointer = Checkpointer(self.engine, self.sinks, key, self.public_keys)
        self._task = asyncio.create_task(self._loop(), name="audit-checkpoints")

    def note(self, team_id: str, seq: int) -> None:
        """An event was appended: ask for a batch once the team is `every` events ahead."""
        if seq - self.anchored.get(team_id, 0) >= self.settings.audit_checkpoint_every:
            self._due.set()

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.run_once(), FINAL_BATCH_TIMEOUT_S)

    def trust(self) -> Trust:
        """What verify holds the chain against, read fresh from the sinks (blocking I/O:
        the API's sync endpoints call it from FastAPI's thread pool)."""
        return read_trust(self.sinks, self.public_keys)

    def require_anchor(self) -> bool:
        return self.settings.is_production()

    async def _loop(self) -> None:
        while True:
            if await self.run_once() is None:  # failed: no hot loop while a sink is down
                await asyncio.sleep(min(self.settings.audit_checkpoint_interval_s,
                                        RETRY_AFTER_FAILURE_S))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(),
                                       self.settings.audit_checkpoint_interval_s)
            self._due.clear()

    async def run_once(self) -> Outcome | None:
        """One batch; failures are logged (the next trigger retries), never raised."""
        if self.checkpointer is None:
            return None
        try:
            outcome = await asyncio.to_thread(self.checkpointer.run_batch)
        except TemporaryError as exc:
            log.warning("checkpoint batch postponed", error=str(exc))
            return None
        except Exception:  # boundary: a bug must not stop the consumer; logged with an id
            log.exception("checkpoint batch failed", error_id=new_id())
            return None
        self.anchored.update(outcome.anchored)
        return outcome
