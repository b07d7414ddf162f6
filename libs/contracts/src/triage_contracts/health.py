"""Liveness, readiness and metrics endpoints, the same in every service (the chart probes
`/healthz` and `/readyz`; Prometheus scrapes `/metrics`)."""

from collections.abc import Callable

from fastapi import APIRouter, Response
from faststream.nats import NatsBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def health_router(
    broker: NatsBroker, metrics: CollectorRegistry, ready: Callable[[], bool] = lambda: True
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

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    return router
