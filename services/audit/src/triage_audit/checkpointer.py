"""One checkpoint batch: read, decide (anchor.py), sign, write to every sink, keep a copy.

The batch builds on the newest valid batch read back from the sinks, never on what the
database says about earlier checkpoints, and it signs a team's new head only after checking
that the rows since that team's last checkpoint link up from the checkpointed hash. So a
chain rewritten and recomputed in the database is never signed over: the team keeps its
old entry, and an alarm is logged (`audit anchor alarm`) that verify will also report.
Teams the last manifest lists are carried forward even when the database lost them.

Replicas agree through the sinks: batch n is created exclusively, a replica that finds n
taken gives up this round (NameTaken) and builds on the winner's batch next time. A
threading lock keeps one batch at a time per process (the timer and the final batch at
shutdown can meet). Synchronous: the service runs it with asyncio.to_thread.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import utcnow
from triage_contracts.logs import get_logger

from .anchor import Batch, Head, Manifest, build_batch, due, fallen_behind
from .chain import ChainError
from .db import temporary_on_outage
from .external import latest_batch, newest
from .keys import SigningKey
from .models import AuditCheckpoint, AuditHead, AuditRow
from .sinks import NameTaken, Sink, batch_name
from .verify import BATCH, walk

log = get_logger("triage.audit.anchor")


@dataclass
class Outcome:
    """What a batch did: its number (None: nothing to anchor, or another replica won), the
    teams it checkpointed, the sinks that took it, and the alarms raised."""

    number: int | None = None
    teams: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    alarms: dict[str, ChainError] = field(default_factory=dict)
    anchored: dict[str, int] = field(default_factory=dict)  # every team's anchored seq


class Checkpointer:
    def __init__(self, engine: Engine, sinks: list[Sink], key: SigningKey,
                 public_keys: dict[str, Ed25519PublicKey],
                 clock: Callable[[], datetime] = utcnow) -> None:
        if not sinks:
            raise ValueError("a checkpointer needs at least one sink")
        self.engine, self.sinks, self.key, self.clock = engine, sinks, key, clock
        # Its own key verifies its own batches; older keys verify batches before a rotation.
        self.public_keys = {**public_keys, key.key_id: key.public}
        self._one_at_a_time = threading.Lock()

    def run_batch(self) -> Outcome:
        with self._one_at_a_time:
            return self._run()

    def _run(self) -> Outcome:
        base, number = self._read_sinks()
        heads = self._heads()
        outcome = Outcome(alarms=fallen_behind(base, heads))
        advanced = self._verified_heads(base, heads, outcome)
        outcome.anchored = {t: e.seq for t, e in (base.entries if base else {}).items()}
        for team, error in outcome.alarms.items():
            log.error("audit anchor alarm: the chain disagrees with its last checkpoint",
                      team_id=team, seq=error.seq, reason=error.reason, detail=error.message)
        if not advanced:
            return outcome
        batch = build_batch(base, advanced, self.key, self.clock(), number)
        outcome.written = self._write(batch)
        if outcome.written:
            outcome.number = number
            outcome.teams = {h.team_id: h.seq for h in advanced}
            outcome.anchored.update(outcome.teams)
            self._keep_copy(batch)
        return outcome

    def _read_sinks(self) -> tuple[Manifest | None, int]:
        """The newest valid batch across sinks, and the number the next one takes."""
        latest = [latest_batch(sink, self.public_keys) for sink in self.sinks]
        if all(item.unreachable for item in latest):
            raise TemporaryError("no anchor sink is reachable: "
                                 + "; ".join(str(item.unreachable) for item in latest))
        for item in latest:
            for problem in item.problems:
                log.error("audit anchor alarm: invalid batch in a sink", detail=problem)
        return newest(latest), max(item.highest for item in latest) + 1

    def _heads(self) -> dict[str, int]:
        with temporary_on_outage("reading chain heads"), Session(self.engine) as session:
            return {h.team_id: h.seq for h in session.scalars(select(AuditHead))}

    def _verified_heads(self, base: Manifest | None, heads: dict[str, int],
                        outcome: Outcome) -> list[Head]:
        """The heads of due teams whose new rows link up from their last checkpoint."""
        advanced = []
        for team, (seq, hash_) in sorted(due(base, heads).items()):
            head = self._extend(team, seq, hash_, heads[team])
            if isinstance(head, ChainError):
                outcome.alarms[team] = head
            else:
                advanced.append(head)
        return advanced

    def _extend(self, team: str, seq: int, hash_: str, upto: int) -> Head | ChainError:
        stmt = (select(AuditRow).where(AuditRow.team_id == team, AuditRow.seq > seq,
                                       AuditRow.seq <= upto)
                .order_by(AuditRow.seq).execution_options(yield_per=BATCH))
        with temporary_on_outage(f"reading team {team}"), Session(self.engine) as session:
            walked = walk(session.scalars(stmt), start_seq=seq + 1, start_prev=hash_,
                          team_id=team)
        if walked.error is not None:
            return walked.error
        if seq + walked.count != upto:
            return ChainError(seq + walked.count + 1, "head_mismatch",
                              f"head says seq {upto}, the chain ends at {seq + walked.count}")
        return Head(team, upto, walked.last_hash)

    def _write(self, batch: Batch) -> list[str]:
        """Write the batch to every sink; [] when another writer took its number first."""
        written, name, data = [], batch_name(batch.number), batch.document()
        for sink in self.sinks:
            try:
                sink.put(name, data)
                written.append(sink.url)
            except NameTaken:
                log.info("anchor batch taken by another writer", batch=batch.number,
                         sink=sink.url)
                if not written:
                    return []
            except TemporaryError as exc:
                log.warning("anchor sink unavailable", sink=sink.url, error=str(exc))
        if not written:
            raise TemporaryError(f"anchor batch {batch.number} reached no sink")
        log.info("anchor batch written", batch=batch.number, sinks=len(written),
                 teams=len(batch.checkpoints))
        return written

    def _keep_copy(self, batch: Batch) -> None:
        """The checkpoints into the database too (for verify; a copy, not the anchor)."""
        rows = [{"team_id": c.payload["team_id"], "seq": c.payload["seq"],
                 "batch": batch.number, "digest": c.digest, "document": c.to_json()}
                for c in batch.checkpoints]
        try:
            with temporary_on_outage("storing checkpoints"), Session(self.engine) as session:
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                session.execute(insert(AuditCheckpoint).values(rows)
                                .on_conflict_do_nothing(index_elements=["team_id", "seq"]))
                session.commit()
        except TemporaryError as exc:  # anchored already: the copy is a convenience
            log.warning("checkpoint copy not stored", batch=batch.number, error=str(exc))
