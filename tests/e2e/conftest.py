"""The whole stack as users run it (`triage-dev`): every service a real process, a real
nats-server, SQLite, the sandbox stand-ins on loopback."""

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack


class _Tee(io.StringIO):
    """Keeps the stack's prefixed logs for failure reports without flooding the output."""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    env = {"LOG_LEVEL": "INFO"}  # no credentials: everything outside is sandboxed
    plan = make_plan(env, tmp_path / "data", fixed_ports=False)
    out = _Tee()
    running = Stack(plan, out=out).start(timeout=90)
    try:
        yield running
    finally:
        running.stop()
        log_file = tmp_path / "stack.log"
        log_file.write_text(out.getvalue())
        print(f"stack logs: {log_file}")
