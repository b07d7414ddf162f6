"""The stack fixtures shared by the end-to-end tests."""

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[Stack]:
    plan = make_plan({"LOG_LEVEL": "INFO", "SANDBOX_MODEL": "scripted"}, tmp_path / "data",
                     fixed_ports=False)
    out = io.StringIO()
    running = Stack(plan, out=out).start(timeout=90)
    try:
        yield running
    finally:
        running.stop()
        (tmp_path / "stack.log").write_text(out.getvalue())
