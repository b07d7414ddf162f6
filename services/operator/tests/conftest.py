"""Fixtures for the operator tests: kmock's Kubernetes API emulation with the Workspace
resource declared from our own CRD, a kubeconfig pointing at it (kopf's real login path),
and the real operator (`python -m triage_operator`'s `run`) in a task, stopped by cancel.

Tests reach the helpers through the `k8s` fixture (with importlib imports, test modules
cannot import this file)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import kmock
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from triage_contracts.testing.natsserver import free_port
from triage_contracts.testing.wait import eventually
from triage_operator.__main__ import run
from triage_operator.settings import Settings

CRD_PATH = Path(__file__).parents[1] / "crd" / "workspace.yaml"
CHART_TEMPLATES = Path(__file__).parents[3] / "charts" / "triage" / "templates"


class Cluster:
    """The emulated API server, seen and driven the way kubectl would."""

    NS = "ns1"
    WS = "triage.dev/v1alpha1/workspaces"
    CM = "v1/configmaps"
    DEPLOY = "apps/v1/deployments"
    WS_URL = f"/apis/triage.dev/v1alpha1/namespaces/{NS}/workspaces"

    def __init__(self, emulator: kmock.KubernetesEmulator) -> None:
        self.kmock = emulator

    def current(self, resource: str, name: str) -> dict[str, Any] | None:
        """The object as the API server holds it now, or None if absent/deleted."""
        try:
            obj = self.kmock.objects[resource, self.NS, name]
        except KeyError:
            return None
        return None if obj.deleted else obj.raw

    def last(self, resource: str, name: str) -> dict[str, Any]:
        """The last state seen before a deletion."""
        return dict(self.kmock.objects[resource, self.NS, name].last.raw)

    def versions(self, name: str) -> int:
        """How many times the Workspace was written (kopf's patches included)."""
        return len(self.kmock.objects[self.WS, self.NS, name].history)

    def ready(self, name: str) -> dict[str, Any] | None:
        """The Ready condition of a Workspace, if the operator has reported one."""
        body = self.current(self.WS, name) or {}
        for cond in body.get("status", {}).get("conditions", []):
            if cond["type"] == "Ready":
                return dict(cond)
        return None

    def is_ready(self, name: str, status: str = "True", reason: str | None = None
                 ) -> dict[str, Any] | None:
        cond = self.ready(name)
        if cond and cond["status"] == status and reason in (None, cond["reason"]):
            return cond
        return None

    def was(self, name: str, status: str, reason: str) -> dict[str, Any] | None:
        """A Ready condition the Workspace had at any point (kmock keeps every version), so a
        transient state is seen however late the poll comes on a loaded machine."""
        for version in self.kmock.objects[self.WS, self.NS, name].history.raw:
            for cond in ((version or {}).get("status") or {}).get("conditions") or []:
                if (cond["type"], cond["status"], cond["reason"]) == ("Ready", status, reason):
                    return dict(cond)
        return None

    async def api(self, method: str, name: str | None = None, body: Any = None
                  ) -> dict[str, Any]:
        url = f"{self.WS_URL}/{name}" if name else self.WS_URL
        async with self.kmock.request(method, url, json=body) as resp:
            assert resp.status < 300, await resp.text()
            return dict(await resp.json())

    @staticmethod
    async def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
        """Poll until `check()` returns something truthy (there is no event to wait on)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (result := check()):
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {within}s")
            await asyncio.sleep(0.1)
        return result

    @staticmethod
    async def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample the operator's /metrics serves, by (name, labels), read with
        Prometheus's own parser."""
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            text = await resp.text()
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    async def runs(self, port: int, handler: str, outcome: str = "ok") -> float:
        """How many times the operator's handler ended with `outcome` (its metrics)."""
        labels = frozenset({"handler": handler, "outcome": outcome}.items())
        return (await self.scrape(port)).get(("triage_operator_reconciles_total", labels), 0.0)

    async def eventually_async(self, check: Callable[[], Any], within: float = 30.0) -> Any:
        """`eventually` for a coroutine check (a scrape, a NATS lookup)."""
        return await eventually(check, within)

    def used(self) -> set[tuple[str, str, str]]:
        """(group, resource, RBAC verb) of what the code under test (kopf, the operator's or
        the install controller's client) asked the API for; not the test's own requests,
        nor discovery documents (open to every authenticated user)."""
        found = set()
        for request in self.kmock:
            resource, agent = request.resource, dict(request.headers).get("User-Agent", "")
            if resource is None or resource.plural is None or agent.startswith("kmock/"):
                continue
            name = resource.plural + (f"/{request.subresource}" if request.subresource else "")
            found.add((resource.group, name, _verb(request)))
        return found

    @staticmethod
    def granted(template: str) -> set[tuple[str, str, str]]:
        """(group, resource, verb) of the first Role's rules in a chart template (the block
        is plain YAML)."""
        text = (CHART_TEMPLATES / template).read_text()
        start = text.index("rules:")
        rules = yaml.safe_load(text[start:text.index("---", start)])
        return {(group, resource, verb) for rule in rules["rules"]
                for group in rule["apiGroups"] for resource in rule["resources"]
                for verb in rule["verbs"]}

    def workspace(self, name: str, team: str = "T0001", **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "triage.dev/v1alpha1", "kind": "Workspace",
            # The API server sets uid, generation and resourceVersion; kmock does not.
            "metadata": {"name": name, "namespace": self.NS, "uid": f"uid-{name}",
                         "generation": 1, "resourceVersion": "1"},
            "spec": {
                "teamId": team, "channels": ["C0001"], "approvers": ["U0001"],
                "modelRoutes": {"draft": [{"provider": "openai", "model": "gpt-4o-mini"},
                                          {"provider": "offline", "model": "offline"}]},
                "budgetUsdPerDay": 3.5, "tools": ["github.search_issues", "prometheus.query"],
                "githubRepos": ["acme/checkout-api"], "secretRefs": {"github": "acme-github"},
                "workers": {"replicas": 1},
            } | spec,
        }

    def settings(self, nats_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "nats_url": nats_url, "operator_namespace": self.NS, "port": free_port(),
            "liveness_port": free_port(), "retry_delay_s": 0.3, "retry_max_delay_s": 1.0,
            "consistency_timeout_s": 0.2, "nats_connect_timeout_s": 1.0,
            "worker_image": "registry.test/triage-{component}:1.0",
            "worker_env_secret": "triage-common",
        } | overrides
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    @contextlib.asynccontextmanager
    async def operator(self, settings: Settings) -> AsyncIterator[None]:
        task = asyncio.create_task(run(settings))
        try:
            await _wait_ready(settings, task)
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _wait_ready(settings: Settings, task: asyncio.Task[None]) -> None:
    url = f"http://127.0.0.1:{settings.port}/readyz"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if task.done():
                task.result()  # surface the operator's start-up failure
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise AssertionError("operator never became ready")


def _verb(request: Any) -> str:
    action = request.action.name.lower()  # list, watch, create, update, delete, fetch...
    method = request.method.name.lower()
    if method == "get":
        return "watch" if action == "watch" else ("get" if request.name else "list")
    return {"post": "create", "patch": "patch", "put": "update", "delete": "delete"}[method]


def crd() -> dict[str, Any]:
    return dict(yaml.safe_load(CRD_PATH.read_text()))


@pytest.fixture
def crd_manifest() -> dict[str, Any]:
    return crd()


@pytest.fixture
def k8s(kmock: kmock.KubernetesEmulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Cluster:
    kmock.resources.load_bundled()  # core and apps resources, events
    names = crd()["spec"]["names"]
    kmock.resources[Cluster.WS] = kmock.ResourceInfo(
        kind=names["kind"], singular=names["singular"], shortnames=names["shortNames"],
        namespaced=True, subresources={"status"},
        verbs={"list", "watch", "get", "create", "patch", "delete"},
    )
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": str(kmock.url)}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "test-token"}}],
    }))
    # kopf's kubeconfig login reads KUBECONFIG: the real path a developer's laptop takes.
    monkeypatch.setenv("KUBECONFIG", str(config))
    return Cluster(kmock)
