"""The health listener the chart probes: /healthz and /readyz on one port (8080), and
/metrics (the operator's `OperatorMetrics`) that Prometheus scrapes there.

kopf's liveness endpoint serves a single path, so kopf listens on a loopback port and
/healthz relays its answer (it runs kopf's probe handlers and stops answering when the
operator's core tasks die). /readyz is 503 until kopf has logged in and started watching.
A standby replica (leader election, leader.py) runs no kopf: /healthz answers "standby"
(alive), and so does /readyz while it can read the lease (ready to take over), else 503
with the reason, so a standby cut off from NATS shows as not ready.
"""

import asyncio
from typing import Protocol

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

RELAY_TIMEOUT = aiohttp.ClientTimeout(total=5)


class Candidate(Protocol):
    """A replica in a leader election (leader.Elector)."""

    @property
    def leading(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


def build_health_app(liveness_url: str, ready: asyncio.Event,
                     metrics: CollectorRegistry | None = None,
                     standby: Candidate | None = None) -> web.Application:
    """`standby`: this replica's candidate (None: no leader election)."""
    def standing_by() -> bool:
        return standby is not None and not standby.leading

    async def healthz(_: web.Request) -> web.Response:
        if standing_by():
            return web.json_response({"status": "standby"})
        try:
            async with aiohttp.ClientSession(timeout=RELAY_TIMEOUT) as session:
                async with session.get(liveness_url) as resp:
                    return web.Response(status=resp.status, body=await resp.read(),
                                        content_type="application/json")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return web.json_response({"status": "down", "error": str(exc)}, status=503)

    async def readyz(_: web.Request) -> web.Response:
        if standby is not None and standing_by():
            if standby.error:
                return web.json_response({"status": "standby", "error": standby.error},
                                         status=503)
            return web.json_response({"status": "standby"})
        if ready.is_set():
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "starting"}, status=503)

    async def prometheus(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics or CollectorRegistry()),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz),
                    web.get("/metrics", prometheus)])
    return app


async def start_health(app: web.Application, host: str, port: int) -> web.AppRunner:
    # No access log: the kubelet probes every few seconds.
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
