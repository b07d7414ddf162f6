"""The real operator (`triage_operator.__main__.run`) against the real API server for its
Workspaces and kmock for the core kinds, joined by `RoutingProxy`; a real nats-server.

Each test gets its own namespace on the session's API server, so Workspaces left by one
test (or by the CRD tests) are never seen by another test's operator."""

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import kmock
from triage_contracts.testing.natsserver import free_port
from triage_contracts.testing.wait import eventually
from triage_operator.__main__ import run
from triage_operator.settings import Settings

DEPLOY = "apps/v1/deployments"
CM = "v1/configmaps"
_namespaces = itertools.count(1)


def next_namespace() -> str:
    return f"op{next(_namespaces)}"


@dataclass
class Tier:
    http: httpx.AsyncClient  # to the real API server, system:masters
    emulator: kmock.KubernetesEmulator
    ns: str

    @property
    def ws_url(self) -> str:
        return f"/apis/triage.dev/v1alpha1/namespaces/{self.ns}/workspaces"

    def workspace(self, name: str, team: str = "T0001", **spec: Any) -> dict[str, Any]:
        # No uid, generation or resourceVersion: the real server sets them.
        return {"apiVersion": "triage.dev/v1alpha1", "kind": "Workspace",
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {"teamId": team, "channels": ["C0001"]} | spec}

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = await self.http.post(self.ws_url, json=body)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    async def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await self.http.patch(f"{self.ws_url}/{name}", json=body,
                                     headers={"Content-Type": "application/merge-patch+json"})
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def delete(self, name: str) -> None:
        resp = await self.http.delete(f"{self.ws_url}/{name}")
        assert resp.status_code in (200, 202), resp.text

    async def get(self, name: str) -> dict[str, Any] | None:
        resp = await self.http.get(f"{self.ws_url}/{name}")
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def condition(self, name: str, kind: str = "Ready") -> dict[str, Any] | None:
        body = await self.get(name) or {}
        return next((dict(c) for c in body.get("status", {}).get("conditions", [])
                     if c["type"] == kind), None)

    async def is_ready(self, name: str, status: str = "True", reason: str | None = None
                       ) -> dict[str, Any] | None:
        cond = await self.condition(name)
        if cond and cond["status"] == status and reason in (None, cond["reason"]):
            return cond
        return None

    async def is_gone(self, name: str) -> bool:
        return await self.get(name) is None

    def core(self, resource: str, name: str) -> dict[str, Any] | None:
        """A core object as kmock holds it now, or None if absent/deleted."""
        try:
            obj = self.emulator.objects[resource, self.ns, name]
        except KeyError:
            return None
        return None if obj.deleted else dict(obj.raw)

    @staticmethod
    async def eventually(check: Callable[[], Awaitable[Any]], within: float = 120.0) -> Any:
        """Poll until `check()` gives something truthy (generous: a loaded 2-core box)."""
        return await eventually(check, within, interval=0.2)

    def settings(self, nats_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "nats_url": nats_url, "operator_namespace": self.ns, "port": free_port(),
            "liveness_port": free_port(), "retry_delay_s": 0.3, "retry_max_delay_s": 1.0,
            "nats_connect_timeout_s": 1.0, "worker_image": "registry.test/triage-{component}:1",
        } | overrides
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    @contextlib.asynccontextmanager
    async def operator(self, settings: Settings) -> AsyncIterator[None]:
        task = asyncio.create_task(run(settings))
        try:
            await self._wait_ready(settings, task)
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _wait_ready(self, settings: Settings, task: asyncio.Task[None]) -> None:
        async def ready() -> bool:
            if task.done():
                task.result()  # surface the operator's start-up failure
            with contextlib.suppress(httpx.TransportError):
                async with httpx.AsyncClient() as client:
                    url = f"http://127.0.0.1:{settings.port}/readyz"
                    return (await client.get(url)).status_code == 200
            return False

        await self.eventually(ready)
