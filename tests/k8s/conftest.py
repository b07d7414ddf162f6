"""Fixtures of the chart tests: `render` installs the chart with Helm's own library (in a
subprocess) into a fresh Kubernetes API emulator (kmock, configured like a current cluster
with KEDA installed) and returns the rendered manifests plus the emulated API."""

import itertools
import json
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml

# The tests import their helpers as `chartkit` (tests/k8s is not a package).
sys.path.insert(0, str(Path(__file__).parent))

from chartkit import (  # noqa: E402
    CHART,
    NAMESPACE,
    Rendered,
    RenderError,
    configure_cluster,
    kubeconfig_for,
    run_helm,
)

RenderFn = Callable[..., Awaitable[Rendered]]


def _without_hooks(values: dict[str, Any]) -> dict[str, Any]:
    """Helm validates hook manifests against the cluster's OpenAPI document, which the
    emulated API does not serve: the provisioning Job is rendered as a plain Job here
    (`provisioner.helmHook: false`, the chart's alternative for clusters without hooks)."""
    provisioner = {"helmHook": False, **values.get("provisioner", {})}
    return {**values, "provisioner": provisioner}


@pytest.fixture
async def render(tmp_path: Path) -> AsyncIterator[RenderFn]:
    """Install the chart with these values; every call gets its own emulated cluster, so one
    test may compare several installs."""
    installs = itertools.count()
    async with AsyncExitStack() as stack:

        async def _render(values: dict[str, Any]) -> Rendered:
            api = await stack.enter_async_context(kmock.KubernetesEmulator())
            await stack.enter_async_context(kmock.Server(api))
            configure_cluster(api)
            workdir = tmp_path / f"install-{next(installs)}"
            workdir.mkdir()
            kubeconfig = workdir / "kubeconfig"
            kubeconfig.write_text(kubeconfig_for(str(api.url)))
            values_file = workdir / "values.json"
            values_file.write_text(json.dumps(_without_hooks(values)))
            outcome = await run_helm("install", str(kubeconfig), str(CHART), str(values_file),
                                     "triage", NAMESPACE)
            if not outcome["ok"]:
                raise RenderError(outcome["error"])
            texts = [outcome["manifest"], *outcome.get("hooks", [])]
            docs = [d for text in texts for d in yaml.safe_load_all(text) if d]
            return Rendered(docs, outcome["notes"], api)

        yield _render



@pytest.fixture(scope="session")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The venv a service's builder stage produces (replayed once per session)."""
    from dockerfiles import replay_builder

    built: dict[str, Path] = {}

    def _venv(service: str) -> Path:
        if service not in built:
            if not shutil.which("uv"):
                pytest.fail("uv is required (scripts/bootstrap.sh installs it)")
            built[service] = replay_builder(service, tmp_path_factory.mktemp(f"image-{service}"))
        return built[service]

    return _venv
