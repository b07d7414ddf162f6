"""Serving the chaos page from a thread of the `triage-dev` process, on loopback."""

import secrets
import threading
import time

import uvicorn

from ..stack import Stack
from .app import chaos_app


class ChaosServer:
    def __init__(self, stack: Stack, port: int) -> None:
        self.port = port
        # Per start: the page carries it, the kill/restart endpoints require it.
        self.token = secrets.token_urlsafe(24)
        config = uvicorn.Config(chaos_app(stack, port, self.token), host="127.0.0.1",
                                port=port, log_level="warning", access_log=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="chaos", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "ChaosServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the chaos page did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
