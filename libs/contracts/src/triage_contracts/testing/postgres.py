"""A fresh PostgreSQL schema per test, on the server CI and the dev machine run
(127.0.0.1:5432, database `test`): each test gets its own tables, dropped afterwards.

An unreachable server is a test failure with a clear message, never a skip: the stores
that run on PostgreSQL in production must be tested on it. psycopg is imported on use:
only the services with PostgreSQL stores install it.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def admin_connection(url: str, setting: str) -> Any:
    """An autocommit psycopg connection to the server of `url` (a SQLAlchemy URL)."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {url} ({exc}): start it, or set "
                    f"{setting}", pytrace=False)


@contextmanager
def fresh_schema(url: str, prefix: str, setting: str) -> Iterator[tuple[str, str]]:
    """(database URL whose search_path is a new schema, the schema); dropped on exit."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin_connection(url, setting) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?options=-csearch_path%3D{schema}", schema
    finally:
        with admin_connection(url, setting) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
