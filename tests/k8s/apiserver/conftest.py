"""Fixtures of the real-API-server tier: one etcd + apiextensions-apiserver per session with
the Workspace CRD applied from the chart.

Without the binaries: CI (CI=true) fails with the build log's tail, because .ci/run starts
scripts/apiserver-build before the suite and this tier must run there; a local run skips,
naming the command that builds them. A build under way is waited for."""

import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest
import yaml

# The tests import their helpers by module name (tests/k8s is not a package).
sys.path.insert(0, str(Path(__file__).parent))

from apiserverkit import (  # noqa: E402
    BUILD_WAIT_S,
    CRD_FILE,
    CRDS,
    WS_URL,
    ApiServer,
    find_binaries,
    log_tail,
)
from operatorkit import Tier, next_namespace  # noqa: E402
from routingproxy import RoutingProxy  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test of the tier may wait for the build (up to BUILD_WAIT_S): the suite's
    per-test bound (which covers fixture setup) would cut that wait short."""
    here = Path(__file__).parent
    for item in items:
        if item.path.parent == here:
            item.add_marker(pytest.mark.timeout(BUILD_WAIT_S + 300))


def _binaries() -> Path:
    found = find_binaries()
    if found is not None:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("the API server tier has no binaries: the build failed or none ran "
                    "(.ci/run starts scripts/apiserver-build); the build log ends with:\n"
                    + log_tail(), pytrace=False)
    pytest.skip("no Kubernetes API server built: run scripts/apiserver-build once "
                "(10-25 min, into ~/.cache/triage/apiserver) to enable this tier")


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = ApiServer(_binaries(), tmp_path_factory.mktemp("apiserver"))
    try:
        yield server.start()
    finally:
        server.stop()


def wait_established(http: httpx.Client, name: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while True:
        conditions = (http.get(f"{CRDS}/{name}").json().get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            # The group's discovery and the REST handler follow the condition shortly.
            if http.get(WS_URL).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"CRD {name} not established within {within}s")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def workspace_crd(apiserver: ApiServer) -> dict[str, Any]:
    """The chart's CRD, created on the real server and established."""
    crd = yaml.safe_load(CRD_FILE.read_text())
    with apiserver.client() as http:
        resp = http.post(CRDS, json=crd)
        assert resp.status_code == 201, resp.text
        wait_established(http, crd["metadata"]["name"])
    return dict(crd)


@pytest.fixture
def kube(apiserver: ApiServer, workspace_crd: dict[str, Any]) -> Iterator[httpx.Client]:
    """An HTTP client in system:masters on the server with the CRD in place."""
    with apiserver.client() as http:
        yield http


@pytest.fixture
async def tier(apiserver: ApiServer, workspace_crd: dict[str, Any],
               kmock: kmock.KubernetesEmulator, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Tier]:
    """Workspaces on the real server, core kinds on kmock, one proxy in front of both, and a
    kubeconfig for it (kopf's real login path), in a fresh namespace."""
    kmock.resources.load_bundled()  # core and apps resources, events
    proxy = await RoutingProxy(apiserver.url, apiserver.ssl_context(), str(kmock.url)).start()
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "kind": "Config", "current-context": "tier",
        "clusters": [{"name": "tier", "cluster": {"server": proxy.url}}],
        "contexts": [{"name": "tier", "context": {"cluster": "tier", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "test-token"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(config))
    try:
        async with httpx.AsyncClient(base_url=apiserver.url, verify=apiserver.ssl_context(),
                                     timeout=60.0) as http:
            yield Tier(http, kmock, next_namespace())
    finally:
        await proxy.stop()
