"""The Workspace CRD ships in the chart's crds/ as an exact copy of the operator's, is a valid
CustomResourceDefinition, is installed by Helm before the templates, and the sample Workspace
in docs/kubernetes.md is accepted by its schema (so the docs cannot drift from the CRD)."""

import re

import jsonschema
import kubernetes_validate
import yaml
from chartkit import CHART, KUBE_VERSION, ROOT

OPERATOR_CRD = ROOT / "services" / "operator" / "crd" / "workspace.yaml"
CHART_CRD = CHART / "crds" / "workspace.yaml"
DOCS = ROOT / "docs" / "kubernetes.md"


def crd() -> dict:
    return yaml.safe_load(CHART_CRD.read_text())


def openapi_schema() -> dict:
    (version,) = crd()["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def test_chart_crd_is_an_exact_copy_of_the_operators() -> None:
    assert CHART_CRD.read_bytes() == OPERATOR_CRD.read_bytes(), (
        "copy services/operator/crd/workspace.yaml to charts/triage/crds/workspace.yaml")


def test_crd_is_valid_and_names_the_agreed_resource() -> None:
    document = crd()
    kubernetes_validate.validate(document, KUBE_VERSION, strict=True)
    spec = document["spec"]
    assert (spec["group"], spec["scope"], spec["names"]["kind"], spec["names"]["plural"]) == (
        "triage.dev", "Namespaced", "Workspace", "workspaces")
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert {"Team", "Ready", "Replicas", "Age"} <= set(columns)


async def test_helm_installs_the_crd_first(render) -> None:
    rendered = await render({})
    stored = {(key[0].group, key[0].plural, key[2]) for key in rendered.api.objects.keys()}
    assert ("apiextensions.k8s.io", "customresourcedefinitions", "workspaces.triage.dev") in stored


def docs_workspace() -> dict:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    samples = [yaml.safe_load(b) for b in blocks if "kind: Workspace\n" in b]
    assert len(samples) == 1, "docs/kubernetes.md must show exactly one sample Workspace"
    return samples[0]


def test_docs_sample_workspace_matches_the_crd_schema() -> None:
    sample = docs_workspace()
    assert sample["apiVersion"] == "triage.dev/v1alpha1"
    jsonschema.validate(sample, openapi_schema())
    for field in ("teamId", "channels", "approvers", "modelRoutes", "budgetUsdPerDay", "tools",
                  "githubRepos", "secretRefs", "workers"):
        assert field in sample["spec"], field


def test_crd_schema_rejects_a_bad_team_id() -> None:
    sample = docs_workspace()
    sample["spec"]["teamId"] = "acme"
    try:
        jsonschema.validate(sample, openapi_schema())
    except jsonschema.ValidationError as exc:
        assert "does not match '^T[A-Z0-9]+$'" in exc.message
    else:
        raise AssertionError("a lower-case team id was accepted")
