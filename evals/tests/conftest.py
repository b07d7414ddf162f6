"""The sandbox stacks the eval tests run against, each started ONCE for the session (a
stack takes ~15 s to start on a small machine): the offline rules agent with approvals
that expire after a minute (the expiry path is evaluated too), and the scripted model."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack

from evals.runner import EXPIRY_TTL_S

ROOT = Path(__file__).resolve().parents[2]
RUNNER_CASES = Path(__file__).parent / "runner_cases"


def _stack(factory: pytest.TempPathFactory, name: str, env: dict[str, str]) -> Iterator[Stack]:
    data = factory.mktemp(name)
    with (data / "stack.log").open("w") as log:
        running = Stack(make_plan({"LOG_LEVEL": "INFO", **env}, data / "data",
                                  fixed_ports=False), out=log).start(timeout=90)
        try:
            yield running
        finally:
            running.stop()
            print(f"stack logs: {data / 'stack.log'}")


@pytest.fixture(scope="session")
def offline_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, "evals-offline",
                      {"APPROVAL_TTL_S": str(EXPIRY_TTL_S)})


@pytest.fixture(scope="session")
def scripted_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory, "evals-scripted", {"SANDBOX_MODEL": "scripted"})
