"""Fixtures of the sandbox tests: a stand-in app under real uvicorn on a free loopback
port, for clients that do their own HTTP (PyGithub is synchronous, so it runs in a
thread of its own)."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from triage_contracts.testing.natsserver import free_port


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def serve() -> Callable[[FastAPI], AbstractContextManager[str]]:
    """`with serve(app) as url:` runs `app` under uvicorn until the block ends."""
    return _serve
