"""Install drives deployment, in the chart: `operator.installController.enabled` adds the
install controller (the operator image running `python -m triage_operator.install`) with
its own ServiceAccount and a namespaced Role limited to Workspaces; nothing of it is
rendered by default or without the operator."""

import json
from typing import Any

import pytest
from chartkit import load_values

NAME = "triage-install-controller"
TEMPLATE = {"workers": {"replicas": 2}, "budgetUsdPerDay": 5}


def enabled(**controller: Any) -> dict[str, Any]:
    values = load_values("oauth")
    values["operator"] = {"installController": {"enabled": True, **controller}}
    return values


def env(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("values", [{}, {"operator": {"enabled": False, "installController": {
    "enabled": True}}}], ids=["default", "without-operator"])
async def test_nothing_is_rendered_unless_enabled_beside_the_operator(render, values) -> None:
    rendered = await render(values)
    names = {obj["metadata"]["name"] for obj in rendered.manifests}
    assert not {n for n in names if n.startswith(NAME)}
    assert len(rendered.of_kind("Role")) == (1 if values == {} else 0)  # the operator's


async def test_the_controller_runs_with_its_own_identity_and_template(render) -> None:
    rendered = await render(enabled(template=TEMPLATE))
    deployment = rendered.get("Deployment", NAME)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "triage_operator.install"]
    assert container["image"].split("/")[-1].startswith("triage-operator:")
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == (NAME, True)
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    variables = env(deployment)
    assert json.loads(variables["WORKSPACE_TEMPLATE"]) == TEMPLATE
    assert variables["OPERATOR_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert variables["NATS_USER"] == "install-controller"
    assert variables["NATS_PASSWORD"]["secretKeyRef"]["key"] == "install-controller-password"
    # Other components keep their image's own entry point.
    operator = rendered.get("Deployment", "triage-operator")["spec"]["template"]["spec"]
    assert "command" not in operator["containers"][0]


async def test_its_rbac_is_limited_to_workspaces_in_the_release_namespace(render) -> None:
    rendered = await render(enabled())
    assert not rendered.of_kind("ClusterRole") and not rendered.of_kind("ClusterRoleBinding")
    role = rendered.get("Role", NAME)
    granted = {(group, resource): set(rule["verbs"]) for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == {("triage.dev", "workspaces"): {"list", "create", "delete"},
                       ("triage.dev", "workspaces/status"): {"patch"},
                       ("", "events"): {"create"}}
    binding = rendered.get("RoleBinding", NAME)
    assert binding["roleRef"]["name"] == NAME
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME,
                                    "namespace": "triage"}]
    account = rendered.get("ServiceAccount", NAME)
    assert account["automountServiceAccountToken"] is True


async def test_its_network_policy_reaches_nats_and_the_api_server_only(render) -> None:
    rendered = await render(enabled())
    policy = rendered.get("NetworkPolicy", NAME)
    operator = rendered.get("NetworkPolicy", "triage-operator")
    assert policy["spec"]["egress"] == operator["spec"]["egress"]
