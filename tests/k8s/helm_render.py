"""Run Helm's own library (helm-sdkpy) once, in a process of its own, and print JSON.

Why a separate process: Helm reads HELM_DRIVER when its library initialises, so the
in-memory release store (`HELM_DRIVER=memory`, nothing written to the cluster's Secrets)
must be in the environment before the process starts. The test process starts this script
with that environment; it installs the chart against kmock's Kubernetes API emulation (the
result carries the rendered manifest) or lints it.

Usage: helm_render.py install KUBECONFIG CHART VALUES_JSON RELEASE NAMESPACE
       helm_render.py lint CHART
Prints {"ok": true, "manifest": ...} / {"ok": true, "lint": ...} or {"ok": false, "error": ...}.
"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import helm_sdkpy


async def install(kubeconfig: str, chart: str, values: dict[str, Any], release: str,
                  namespace: str) -> dict[str, Any]:
    config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=kubeconfig)
    result = await helm_sdkpy.Install(config).run(
        release, chart, values=values, wait=False, timeout=60)
    # Hooks (the provisioning Job, the `helm test` pod) are kept apart from the manifest.
    hooks = [str(hook.get("manifest", "")) for hook in result.get("hooks") or []]
    return {"ok": True, "manifest": result.get("manifest", ""), "hooks": hooks,
            "notes": _notes(result)}


def _notes(result: dict[str, Any]) -> str:
    info = result.get("info") or {}
    return str(info.get("notes", ""))


async def lint(chart: str) -> dict[str, Any]:
    config = helm_sdkpy.Configuration(namespace="default")
    return {"ok": True, "lint": await helm_sdkpy.Lint(config).run(chart)}


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    try:
        if command == "install":
            kubeconfig, chart, values_file, release, namespace = args
            values = json.loads(Path(values_file).read_text())
            outcome = asyncio.run(install(kubeconfig, chart, values, release, namespace))
        else:
            outcome = asyncio.run(lint(*args))
    except helm_sdkpy.HelmError as exc:
        # The full error text is the point: tests assert on what a user would read.
        outcome = {"ok": False, "error": str(exc), "kind": type(exc).__name__}
    print(json.dumps(outcome))
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
