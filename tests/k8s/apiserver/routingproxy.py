"""One Kubernetes API for the operator made of two: the real API server serves the Workspace
resource (and CRDs), kmock serves the core kinds the real server lacks (ConfigMaps,
Deployments, Events). The operator (kopf and its own client) talks plain HTTP with a token
to this proxy, which forwards Workspace requests over TLS with the system:masters client
certificate and streams watches through."""

import ssl
from typing import Any

import aiohttp
from aiohttp import web

REAL_PREFIXES = ("/apis/triage.dev", "/apis/apiextensions.k8s.io")
HOP_HEADERS = {"host", "authorization", "content-length", "transfer-encoding", "connection"}


class RoutingProxy:
    def __init__(self, real_url: str, context: ssl.SSLContext, kmock_url: str) -> None:
        self.real_url, self.kmock_url = real_url.rstrip("/"), kmock_url.rstrip("/")
        self._ssl = context
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> "RoutingProxy":
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application()
        app.router.add_route("GET", "/apis", self._groups)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        # Upstream first: open watches end with their upstream connections, so the server's
        # shutdown has no long response to wait for.
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    def _upstream(self, path: str) -> tuple[str, dict[str, Any]]:
        if path.startswith(REAL_PREFIXES):
            return self.real_url, {"ssl": self._ssl}
        return self.kmock_url, {}

    async def _groups(self, request: web.Request) -> web.Response:
        """The real server has no /apis root list: kmock's groups plus the Workspace group
        from the real server's own group document."""
        assert self._session
        async with self._session.get(f"{self.kmock_url}/apis") as resp:
            groups = await resp.json()
        async with self._session.get(f"{self.real_url}/apis/triage.dev",
                                     ssl=self._ssl) as resp:
            if resp.status == 200:
                groups["groups"].append(await resp.json())
        return web.json_response(groups)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session
        base, extra = self._upstream(request.path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if base == self.kmock_url and "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"]
        body = await request.read()
        async with self._session.request(request.method, base + request.path_qs,
                                         headers=headers, data=body or None,
                                         **extra) as upstream:
            response = web.StreamResponse(status=upstream.status)
            if "Content-Type" in upstream.headers:
                response.headers["Content-Type"] = upstream.headers["Content-Type"]
            await response.prepare(request)
            # Chunk by chunk: a watch is one long response of JSON lines.
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
