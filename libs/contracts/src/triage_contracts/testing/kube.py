"""A container's environment as the kubelet would give it, from rendered manifests: tests
build a service's settings from exactly what the operator or the chart rendered, so a
setting the manifests stop passing fails the test that relies on its effect."""

from collections.abc import Iterable, Mapping
from typing import Any

Manifest = Mapping[str, Any]


def data_by_name(objects: Iterable[Manifest]) -> dict[str, dict[str, str]]:
    """ConfigMaps or Secrets (`stringData`/plain `data`) by name."""
    return {o["metadata"]["name"]: dict(o.get("data") or o.get("stringData") or {})
            for o in objects}


def container_env(workload: Manifest, configmaps: Mapping[str, Mapping[str, str]],
                  secrets: Mapping[str, Mapping[str, str]] | None = None,
                  container: int = 0) -> dict[str, str]:
    """`envFrom` first, then `env` (which wins, as in Kubernetes). A reference to a
    ConfigMap or Secret that is not given raises KeyError: a test must not silently run
    without a value the pod would have had (or would have failed to start without)."""
    spec = workload["spec"]["template"]["spec"]["containers"][container]
    sources = {"configMap": configmaps, "secret": secrets or {}}
    found: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        for kind, known in sources.items():
            if f"{kind}Ref" in source:
                found |= known[source[f"{kind}Ref"]["name"]]
    for item in spec.get("env", []):
        if "value" in item:
            found[item["name"]] = item["value"]
            continue
        ref = item.get("valueFrom", {})
        for kind, known in sources.items():
            if f"{kind}KeyRef" in ref:
                key_ref = ref[f"{kind}KeyRef"]
                found[item["name"]] = known[key_ref["name"]][key_ref["key"]]
    return found
