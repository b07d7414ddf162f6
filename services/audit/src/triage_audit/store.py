"""Appending to a team's chain: exactly once per message_id, never forking.

Deciding the next (seq, prev_hash) and writing the row happen in one transaction that
holds the team's write lock (FOR UPDATE on the head row on PostgreSQL, BEGIN IMMEDIATE on
SQLite), so two audit replicas can consume the same stream against one database.
Synchronous SQLAlchemy, called through asyncio.to_thread by the handler: one code path for
both backends with the drivers already needed (psycopg, sqlite3), shared with the CLI.

`append_many` appends a group in one transaction: each event still links to the one before
it (the same rows and hashes as appending them one by one), but the group pays for one
commit (one fsync) and one update of each team's head row.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.ids import utcnow
from triage_contracts.messages import AuditEvent
from triage_contracts.redact import redact, redact_text

from .chain import GENESIS, as_utc, link_hash
from .db import IMMEDIATE, ensure_sqlite_folder, make_engine, temporary_on_outage
from .models import MESSAGE_ID_MAX, SERVICE_MAX, AuditHead, AuditRow, Base


@dataclass(frozen=True)
class Appended:
    team_id: str
    seq: int
    hash: str
    duplicate: bool


class AuditStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock  # recorded_at (hashed): a test fixes it to compare two chains

    @classmethod
    def from_url(cls, url: str) -> "AuditStore":
        return cls(make_engine(url))

    def create_schema(self) -> None:
        """Create missing tables (idempotent). Alembic migrations are the planned successor."""
        ensure_sqlite_folder(self.engine.url)
        with temporary_on_outage("creating the audit tables"):
            Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def append(self, event: AuditEvent) -> Appended:
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[Appended]:
        """Append `events` in this order, all or none; one result per event. An event whose
        message_id is stored already, or earlier in the group, is a duplicate (stored once)."""
        for event in events:
            _check_fits(event)
        what = (f"appending audit event {events[0].message_id}" if len(events) == 1
                else f"appending {len(events)} audit events")
        with temporary_on_outage(what):
            with Session(self.engine) as session, session.begin():
                session.connection(execution_options=IMMEDIATE)
                # Sorted: two replicas locking the same teams can never deadlock.
                heads = {team: self._lock_head(session, team)
                         for team in sorted({event.team_id for event in events})}
                seen = _stored(session, [event.message_id for event in events])
                rows: list[dict[str, Any]] = []
                appended = [_chain(rows, event, heads[event.team_id], seen, self.clock())
                            for event in events]
                if rows:  # one multi-row INSERT: the ORM's unit of work costs more per row
                    session.execute(insert(AuditRow), rows)
                # Each head row changed in memory only: one UPDATE per team at the commit.
                return appended

    def _lock_head(self, session: Session, team_id: str) -> AuditHead:
        locked = select(AuditHead).where(AuditHead.team_id == team_id).with_for_update()
        head = session.scalar(locked)
        if head is None:
            # First event of a team: create the genesis head; a racing replica's insert wins
            # or waits, then both lock the same row.
            session.execute(_insert_genesis(session, team_id))
            head = session.scalar(locked.execution_options(populate_existing=True))
        assert head is not None
        return head


def _stored(session: Session, message_ids: list[str]) -> dict[str, Appended]:
    found = session.execute(
        select(AuditRow.message_id, AuditRow.team_id, AuditRow.seq, AuditRow.hash)
        .where(AuditRow.message_id.in_(set(message_ids))))
    return {mid: Appended(team, seq, hash_, True) for mid, team, seq, hash_ in found}


def _chain(rows: list[dict[str, Any]], event: AuditEvent, head: AuditHead,
           seen: dict[str, Appended], now: datetime) -> Appended:
    """Link `event` after `head` (moving the head) as a row to insert, or name the copy
    already stored."""
    if event.message_id in seen:  # a redelivery: acknowledge, store nothing
        return seen[event.message_id]
    row = _hashable_row(event, head, now)
    rows.append(row)
    head.seq, head.hash = row["seq"], row["hash"]
    seen[event.message_id] = Appended(event.team_id, row["seq"], row["hash"], True)
    return Appended(event.team_id, row["seq"], row["hash"], False)


def _check_fits(event: AuditEvent) -> None:
    """Refuse what a column cannot hold, the same way on SQLite (which would store it) and
    PostgreSQL (which would fail the transaction)."""
    for name, limit in (("message_id", MESSAGE_ID_MAX), ("service", SERVICE_MAX)):
        if len(getattr(event, name)) > limit:
            raise PermanentError(f"audit event {name} longer than {limit} characters",
                                 ErrorCode.INVALID_MESSAGE)


def _insert_genesis(session: Session, team_id: str) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(AuditHead).values(team_id=team_id, seq=0, hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["team_id"]))


def _hashable_row(event: AuditEvent, head: AuditHead, now: datetime) -> dict[str, Any]:
    """The new row; an event with no canonical form (NaN, a lone surrogate) can never be
    hashed, so it is a PermanentError (dead-lettered) rather than retried forever."""
    try:
        return _new_row(event, head, now)
    except ValueError as exc:  # UnicodeEncodeError is one too
        raise PermanentError(f"audit event {event.message_id} has no canonical form: {exc}",
                             ErrorCode.INVALID_MESSAGE) from exc


def _new_row(event: AuditEvent, head: AuditHead, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "team_id": event.team_id,
        "seq": head.seq + 1,
        "message_id": event.message_id,
        "run_id": event.run_id,
        "service": event.service,
        "kind": str(event.audit_kind),
        # Emitters redact already; this is the last line of defence for what is kept forever.
        "action": redact_text(event.action),
        "actor": event.actor,
        "outcome": redact_text(event.outcome),
        "detail": redact(event.detail),
        "cost_usd": float(event.cost_usd),
        "created_at": as_utc(event.created_at),
        "recorded_at": now,
    }
    return {**fields, "prev_hash": head.hash, "hash": link_hash(head.hash, fields)}
