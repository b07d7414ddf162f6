"""Helpers of the chart tests: where the chart is, the value sets, an emulated cluster
configured like a current one with KEDA, and Helm run in a subprocess (see helm_render.py)."""

import asyncio
import gzip
import importlib.resources
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "triage"
RENDER_SCRIPT = Path(__file__).with_name("helm_render.py")
NAMESPACE = "triage"
# The cluster the chart targets: its manifests are validated against this version's schemas.
KUBE_VERSION = "1.33"

# Value sets rendered by the tests: the defaults and the ci/ files shipped with the chart.
VALUE_SETS = {
    "defaults": None,
    "ha": CHART / "ci" / "ha-values.yaml",
    "keda": CHART / "ci" / "keda-values.yaml",
    "workspaces": CHART / "ci" / "workspaces-values.yaml",
    "oauth": CHART / "ci" / "oauth-values.yaml",
}


class RenderError(Exception):
    """Helm refused the chart or the values; the message is Helm's full error text."""


@dataclass
class Rendered:
    manifests: list[dict[str, Any]]
    notes: str
    api: kmock.KubernetesEmulator  # the emulated cluster Helm installed into

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert found, f"no {kind} {name!r} in {[m['metadata']['name'] for m in self.of_kind(kind)]}"
        return found[0]


def load_values(name: str) -> dict[str, Any]:
    path = VALUE_SETS[name]
    return {} if path is None else yaml.safe_load(path.read_text())


def _bundled_resources() -> str:
    """kmock's bundled discovery documents of a recent cluster's built-in resources (read
    directly: `resources.load_bundled()` uses a deprecated importlib API)."""
    bundle = importlib.resources.files("kmock._internal").joinpath("resources.json.gz")
    return gzip.decompress(bundle.read_bytes()).decode()


def configure_cluster(api: kmock.KubernetesEmulator) -> None:
    """Make the emulator answer discovery like a real 1.33 cluster with KEDA's CRDs."""
    documents = _bundled_resources()
    api.resources.load_data(documents)
    # kmock 0.8 serves the core group's discovery as groupVersion "/v1", which client-go
    # cannot map ("no matches for kind ConfigMap in version v1"): serve the real document.
    api["get /api/v1"] << next(d for d in json.loads(documents) if d["groupVersion"] == "v1")
    major, minor = KUBE_VERSION.split(".")
    api["get /version"] << {"major": major, "minor": minor, "gitVersion": f"v{KUBE_VERSION}.0",
                            "platform": "linux/amd64"}
    api.resources["keda.sh/v1alpha1/scaledobjects"] = kmock.ResourceInfo(
        kind="ScaledObject", singular="scaledobject", namespaced=True,
        verbs={"get", "list", "watch", "create", "update", "patch", "delete"})


def kubeconfig_for(url: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": url}}],
        "contexts": [{"name": "kmock",
                      "context": {"cluster": "kmock", "user": "test", "namespace": NAMESPACE}}],
        "users": [{"name": "test", "user": {"token": "kmock"}}],
    })


async def run_helm(*args: str) -> dict[str, Any]:
    env = dict(os.environ, HELM_DRIVER="memory")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(RENDER_SCRIPT), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    try:
        return json.loads(out)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"helm_render.py crashed ({proc.returncode}): {err.decode()}") from exc
