"""The approvals table (SQLAlchemy 2 typed ORM) and the engine for it.

Timestamps are stored as naive UTC and returned timezone-aware: SQLite keeps no zone, and a
decision's `decided_at` must read back exactly as it was signed, or the signature breaks.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, String, Text, create_engine, inspect, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class ApprovalRow(Base):
    __tablename__ = "approvals"

    approval_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    requester_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    action_digest: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    draft_answer: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text, default="")
    channel_id: Mapped[str] = mapped_column(String(64), default="")
    thread_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # pending | approved | rejected | expired; only a conditional UPDATE leaves 'pending'.
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Stored with the decision so a re-publish sends the very same signed message: the
    # Ed25519 signature, the key that made it and the grant's signed expiry.
    signature: Mapped[str | None] = mapped_column(String(128), nullable=True)
    grant_kid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    grant_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # NULL while a decided row's ApprovalDecision is not yet acknowledged by JetStream.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def make_engine(database_url: str) -> Engine:
    """An engine without connecting (no I/O): SQLite gets cross-thread use, since queries
    run in worker threads to keep the event loop free."""
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        connect_args["check_same_thread"] = False
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """Create the table (and the SQLite file's folder) if missing; idempotent."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    Base.metadata.create_all(engine)
    _add_missing_columns(engine)


def _add_missing_columns(engine: Engine) -> None:
    """Additive upgrade of a table made by an older release (nullable columns only):
    `create_all` creates missing tables, never missing columns."""
    table = Base.metadata.tables[ApprovalRow.__tablename__]
    present = {c["name"] for c in inspect(engine).get_columns(table.name)}
    # Two replicas starting together may both see a column missing: PostgreSQL's IF NOT
    # EXISTS lets both succeed (SQLite is one process's file in practice).
    guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {guard}'
                                  f'"{column.name}" {kind}'))
