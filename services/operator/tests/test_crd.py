"""The CRD: a valid apiextensions/v1 object with the agreed names and columns, whose
openAPIV3Schema accepts a good Workspace and rejects bad ones — the same ones the
operator's own spec model rejects (so kmock, which validates nothing, does not hide gaps)."""

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from triage_operator.spec import InvalidSpec, parse_spec

GOOD: dict[str, Any] = {
    "apiVersion": "triage.dev/v1alpha1", "kind": "Workspace",
    "metadata": {"name": "acme", "namespace": "triage"},
    "spec": {
        "teamId": "T024BE7LD", "channels": ["C0123ABC"], "approvers": ["U0456DEF"],
        "modelRoutes": {"draft": [{"provider": "openai", "model": "gpt-4o-mini"},
                                  {"provider": "offline", "model": "offline"}],
                        "classify": [{"provider": "offline", "model": "offline"}]},
        "budgetUsdPerDay": 12.5, "tools": ["github.search_issues", "github.comment_issue"],
        "githubRepos": ["acme/checkout-api"],
        "secretRefs": {"slack": "acme-slack", "github": "acme-github",
                       "openai": "acme-openai", "database": "acme-db"},
        "workers": {"replicas": 2, "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                                 "limits": {"cpu": "1", "memory": "1Gi"}}},
        "image": "ghcr.io/acme/triage-{component}:1.2.3", "natsUrl": "nats://nats.triage:4222",
    },
}

BAD = {
    "teamId lowercase": {"teamId": "t024be7ld"},
    "teamId missing": {"teamId": None},
    "replicas above 20": {"workers": {"replicas": 21}},
    "negative replicas": {"workers": {"replicas": -1}},
    "negative budget": {"budgetUsdPerDay": -1},
    "repo without owner": {"githubRepos": ["checkout-api"]},
    "unknown provider": {"modelRoutes": {"draft": [{"provider": "acme", "model": "x"}]}},
    "empty route": {"modelRoutes": {"draft": []}},
    "secret name with capitals": {"secretRefs": {"github": "Acme_GitHub"}},
    "channel name not id": {"channels": ["#incidents"]},
    "approver not a user id": {"approvers": ["alice"]},
    "bad memory quantity": {"workers": {"resources": {"limits": {"memory": "lots"}}}},
    "http nats url": {"natsUrl": "http://nats:4222"},
}


def schema(crd: dict[str, Any]) -> dict[str, Any]:
    return dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def with_change(change: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    for key, value in change.items():
        if value is None:
            del body["spec"][key]
        else:
            body["spec"][key] = value
    return body


def test_crd_is_a_valid_kubernetes_object(crd_manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(crd_manifest, "1.33", strict=True)


def test_crd_names_scope_and_columns(crd_manifest: dict[str, Any]) -> None:
    spec = crd_manifest["spec"]
    assert crd_manifest["metadata"]["name"] == "workspaces.triage.dev"
    assert (spec["group"], spec["scope"]) == ("triage.dev", "Namespaced")
    assert spec["names"]["plural"] == "workspaces" and spec["names"]["shortNames"] == ["ws"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"] if not c.get("priority")}
    assert list(columns) == ["Team", "Phase", "Ready", "Replicas", "Age"]
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Phase"]["jsonPath"] == ".status.phase"
    phases = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["phase"]
    assert phases["enum"] == ["Installed", "Ready", "Degraded", "Uninstalling"]


def test_good_workspace_passes_schema_and_operator(crd_manifest: dict[str, Any]) -> None:
    jsonschema.validate(GOOD, schema(crd_manifest))
    parsed = parse_spec("acme", GOOD["spec"])
    assert parsed.team_id == "T024BE7LD" and parsed.workers.replicas == 2


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_bad_workspace_is_rejected_by_schema_and_operator(
        crd_manifest: dict[str, Any], change: dict[str, Any]) -> None:
    body = with_change(change)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, schema(crd_manifest))
    with pytest.raises(InvalidSpec):
        parse_spec("acme", body["spec"])


def test_status_written_by_the_operator_fits_the_schema(crd_manifest: dict[str, Any]) -> None:
    body = copy.deepcopy(GOOD) | {"status": {
        "observedGeneration": 3, "teamId": "T024BE7LD", "configMap": "triage-ws-acme",
        "deployments": ["triage-ws-acme-orchestrator", "triage-ws-acme-tools"],
        "consumers": [{"stream": "WORK", "name": "tools-T024BE7LD",
                       "filterSubject": "triage.work.tool.T024BE7LD.>"}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                        "message": "ok", "lastTransitionTime": "2025-01-01T00:00:00Z",
                        "observedGeneration": 3}],
    }}
    jsonschema.validate(body, schema(crd_manifest))
    body["status"]["conditions"][0]["status"] = "Yes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, schema(crd_manifest))


def test_the_documented_example_is_valid(crd_manifest: dict[str, Any]) -> None:
    example = yaml.safe_load((Path(__file__).parents[1] / "examples" / "workspace.yaml")
                             .read_text())
    jsonschema.validate(example, schema(crd_manifest))
    assert parse_spec(example["metadata"]["name"], example["spec"]).team_id == "T024BE7LD"


def test_names_too_long_for_the_worker_deployments_are_rejected() -> None:
    with pytest.raises(InvalidSpec, match="longer than 40"):
        parse_spec("a" * 41, GOOD["spec"])


def defaulted(node: dict[str, Any], value: Any) -> Any:
    """Structural-schema defaulting as the API server applies it: a missing property with
    a `default` gets it, then defaults apply inside every object present (the server's
    algorithm: defaults of nested fields only under a parent that exists)."""
    if not isinstance(value, dict) or node.get("type") != "object":
        return value
    result = dict(value)
    for key, child in (node.get("properties") or {}).items():
        if key not in result and "default" in child:
            result[key] = copy.deepcopy(child["default"])
        if key in result:
            result[key] = defaulted(child, result[key])
    return result


def test_omitted_workers_default_to_one_replica(crd_manifest: dict[str, Any]) -> None:
    body = with_change({"workers": None})
    stored = defaulted(schema(crd_manifest), body)
    assert stored["spec"]["workers"]["replicas"] == 1  # kubectl get ws shows it
    assert stored["spec"]["budgetUsdPerDay"] == 12.5  # a given value is kept
    assert parse_spec("acme", stored["spec"]).workers.replicas == 1
