"""The tables of the audit log: the chained events, each team's chain head, and copies of
the signed checkpoints that anchor the chain outside the database.

The head row is what concurrent writers serialise on (PostgreSQL locks it FOR UPDATE), and
what `verify` compares the last row against, so truncating the chain's tail is detectable.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HASH_LENGTH = 64
MESSAGE_ID_MAX = 128
SERVICE_MAX = 64


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored and returned as aware UTC on every backend.

    SQLite keeps no offset and PostgreSQL answers in the session's time zone; hashes are
    computed over the ISO form, so both must give back exactly what was hashed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous in the audit log")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as UTC above
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class AuditRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("team_id", "seq", name="uq_audit_events_team_seq"),
        Index("ix_audit_events_team_run", "team_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    # Unique: a redelivered event (same message_id) is recognised, never stored twice.
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_MAX), unique=True)
    run_id: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(SERVICE_MAX))
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="ok")
    # JSON, not JSONB: PostgreSQL keeps the text as written (the hash is over sorted keys anyway).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Float (double precision), not Numeric: round-trips exactly the float that was hashed.
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditHead(Base):
    __tablename__ = "audit_heads"

    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditCheckpoint(Base):
    """A signed checkpoint, as also written to the sinks. Only a copy: the database's
    users can delete these, never forge one (the document is signed outside)."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (UniqueConstraint("team_id", "seq", name="uq_audit_checkpoints_team_seq"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    batch: Mapped[int] = mapped_column(BigInteger)  # the external batch that carried it
    digest: Mapped[str] = mapped_column(String(HASH_LENGTH))
    document: Mapped[str] = mapped_column(Text)  # the signed statement, canonical JSON

