"""Engines that serialise chain appends on both backends, and the one mapping of database
failures onto the project's error kinds.

PostgreSQL: appends lock the team's head row (SELECT ... FOR UPDATE, see store.py).
SQLite: appends open their transaction with BEGIN IMMEDIATE, taking the database's write lock
before reading the head, so two processes on one file can never both extend the same head.
WAL lets the query API and `verify` read while the service writes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError

# Execution option read by the SQLite `begin` hook: take the write lock at BEGIN.
IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}
SQLITE_BUSY_TIMEOUT_S = 30.0


def make_engine(url: str) -> Engine:
    """An engine for `url`; no connection is opened here (build_app does no I/O)."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not emit its own (deferred) BEGIN: the hook below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an acked audit event survives power loss
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def ensure_sqlite_folder(url: str | URL) -> None:
    """Create the folder of a file-based SQLite database (the default lives in ./.triage)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def temporary_on_outage(what: str) -> Iterator[None]:
    """Database down or locked (code upstream_unavailable), or a racing replica (code
    conflict): the same work may succeed on a retry (the AUDIT stream keeps the event until
    it is acked). Bad data is permanent. retry_policy.py retries outages without bound and
    conflicts a bounded number of times (one that never clears is not a race)."""
    try:
        yield
    except DataError as exc:  # a value the schema cannot hold: retrying cannot help
        raise PermanentError(f"{what}: {_short(exc)}", ErrorCode.INVALID_MESSAGE) from exc
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"{what}: {_short(exc)}", ErrorCode.UPSTREAM_UNAVAILABLE) from exc
    except IntegrityError as exc:
        raise TemporaryError(f"{what}: {_short(exc)}", ErrorCode.CONFLICT) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise TemporaryError(f"{what}: {_short(exc)}") from exc
        raise


def _short(exc: DBAPIError) -> str:
    # The driver's own message, without SQLAlchemy's statement/parameters dump.
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
