"""Liveness, readiness and metrics endpoints, the same in every service (the chart probes
`/healthz` and `/readyz`; Prometheus scrapes `/metrics`).

A service whose port is public (the approval UI) serves `/metrics` on a port of its own
instead (`serve_metrics=False` plus a `MetricsListener`), so the internet never reads its
counters and a NetworkPolicy can admit the scraper to that port alone.
"""

import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from fastapi import APIRouter, Response
from faststream.nats import NatsBroker
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    start_wsgi_server,
)


def health_router(
    broker: NatsBroker, metrics: CollectorRegistry, ready: Callable[[], bool] = lambda: True,
    *, serve_metrics: bool = True,
) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, str]:
        connected = await broker.ping(timeout=1.0)
        if not (connected and ready()):
            response.status_code = 503
            return {"status": "not ready", "nats": "up" if connected else "down"}
        return {"status": "ready"}

    if serve_metrics:
        @router.get("/metrics", include_in_schema=False)
        async def prometheus_metrics() -> Response:
            return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    return router


class MetricsListener:
    """`/metrics` of one registry on its own host:port, served by prometheus_client's
    threaded WSGI server. `start` binds (call it at start-up, never at import); `stop`
    closes the socket and joins the thread."""

    def __init__(self, metrics: CollectorRegistry, host: str, port: int) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server, self._thread = start_wsgi_server(self.port, addr=self.host,
                                                       registry=self.metrics)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None
