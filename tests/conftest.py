"""Fixtures of the cross-service tests."""

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """The whole stack as users run it (`triage-dev`): every service a real process, a
    real nats-server, SQLite, the sandbox stand-ins on loopback; no credentials, so every
    outside system is sandboxed. Its prefixed logs are kept in the test's folder."""
    plan = make_plan({"LOG_LEVEL": "INFO"}, tmp_path / "data", fixed_ports=False)
    out = io.StringIO()
    # test_admin: tests inspect the streams as `test-admin`; the services use their own.
    running = Stack(plan, out=out, test_admin=True).start(timeout=90)
    try:
        yield running
    finally:
        running.stop()
        log_file = tmp_path / "stack.log"
        log_file.write_text(out.getvalue())
        print(f"stack logs: {log_file}")
