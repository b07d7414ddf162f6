"""The chaos page's HTTP app: `GET /` (the page, carrying this start's token),
`GET /chaos/state` (what runs and what waits), `POST /chaos/{kill,restart}/{name}`.

The control endpoints stop processes, so they answer only a client on 127.0.0.1 that sends
the per-start token in a header: another site open in the same browser can neither read
the page (no CORS) nor send the header without a preflight it would fail. The Host header
must name loopback too, so a DNS-rebinding page cannot read the token either."""

import hmac
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from ..stack import Stack
from . import observe

STATIC = Path(__file__).parent / "static"
NO_CACHE = {"Cache-Control": "no-store"}
TOKEN_HEADER = "X-Chaos-Token"


class Controller:
    """Kill and restart children of the stack, one request at a time."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.lock = threading.Lock()
        self.names = {p.name for p in stack.plan.processes}
        if stack.nats is not None:
            self.names.add(observe.NATS)

    def kill(self, name: str) -> None:
        with self.lock:
            if not self._running(name):
                raise HTTPException(409, f"{name} is not running")
            if name == observe.NATS:
                self.stack.kill_nats()
            else:
                self.stack.kill(name, signal.SIGKILL)

    def restart(self, name: str) -> None:
        """Start it again (a running one is stopped politely first); readiness shows on the
        page, so a slow start never holds the request."""
        with self.lock:
            if name == observe.NATS:
                self.stack.restart_nats()
                return
            if self._running(name):
                self.stack.kill(name, signal.SIGTERM)
            self.stack.children.pop(name, None)
            self.stack.spawn(name)

    def _running(self, name: str) -> bool:
        if name == observe.NATS:
            return self.stack.nats_running()
        child = self.stack.children.get(name)
        return child is not None and child.poll() is None


def chaos_app(stack: Stack, port: int, token: str) -> FastAPI:
    controller = Controller(stack)
    runs = observe.RunFeed(stack.plan.process("audit").url)
    allowed_hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}

    def loopback(request: Request) -> None:
        client = request.client.host if request.client else ""
        if client != "127.0.0.1" or request.headers.get("host") not in allowed_hosts:
            raise HTTPException(403, "the chaos page answers loopback only")

    def authorised(x_chaos_token: Annotated[str, Header()] = "") -> None:
        if not hmac.compare_digest(x_chaos_token.encode(), token.encode()):
            raise HTTPException(403, f"the {TOKEN_HEADER} header of this start is required")

    def known(name: str) -> str:
        if name not in controller.names:
            raise HTTPException(404, f"no process {name} in this stack")
        return name

    app = FastAPI(title="triage chaos", dependencies=[Depends(loopback)], openapi_url=None)
    control = [Depends(authorised)]

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        html = (STATIC / "index.html").read_text().replace("__CHAOS_TOKEN__", token)
        return HTMLResponse(html, headers=NO_CACHE)

    @app.get("/chaos/static/chaos.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(STATIC / "chaos.js", media_type="text/javascript", headers=NO_CACHE)

    @app.get("/chaos/state")
    def state() -> dict[str, Any]:
        return {"processes": observe.processes(stack), **_streams(stack), **_runs(runs)}

    @app.post("/chaos/kill/{name}", dependencies=control)
    def kill(name: Annotated[str, Depends(known)]) -> dict[str, str]:
        controller.kill(name)
        return {"killed": name}

    @app.post("/chaos/restart/{name}", dependencies=control)
    def restart(name: Annotated[str, Depends(known)]) -> dict[str, str]:
        controller.restart(name)
        return {"restarted": name}

    return app


def _streams(stack: Stack) -> dict[str, Any]:
    monitor = stack.nats.monitor_port if stack.nats is not None else None
    try:
        return {"streams": observe.jetstream(monitor), "streams_error": ""}
    except httpx.HTTPError as exc:
        return {"streams": [], "streams_error": f"NATS monitor unreachable: {type(exc).__name__}"}


def _runs(feed: observe.RunFeed) -> dict[str, Any]:
    """Recent runs; while the audit service is down, the last ones seen (the feed resumes
    from its cursor once it is back)."""
    try:
        return {"runs": feed.poll(), "runs_error": ""}
    except httpx.HTTPError as exc:
        return {"runs": list(reversed(feed.runs.values())),
                "runs_error": f"audit API unreachable: {type(exc).__name__}"}
