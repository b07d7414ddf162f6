"""The manifest builders, unit-tested and validated against the Kubernetes schemas
(kubernetes-validate, offline, strict: unknown fields are errors)."""

from typing import Any

import kubernetes_validate
import pytest
from triage_operator.resources import (
    HASH_ANNOTATION,
    Owner,
    configmap,
    deployment,
    deployments,
    unused_secret_refs,
)
from triage_operator.settings import Settings
from triage_operator.spec import InvalidSpec, WorkspaceSpec, parse_spec

OWNER = Owner(name="acme", namespace="triage", uid="0f1c")
K8S_VERSION = "1.33"


def spec(**changes: Any) -> WorkspaceSpec:
    base: dict[str, Any] = {
        "teamId": "T0001", "channels": ["C0001"], "approvers": ["U0001"],
        "modelRoutes": {"draft": [{"provider": "offline", "model": "offline"}]},
        "tools": ["github.search_issues"], "githubRepos": ["acme/api"],
        "secretRefs": {"github": "acme-github", "slack": "acme-slack"},
        "workers": {"replicas": 2, "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                                 "limits": {"memory": "1Gi"}}},
    }
    return WorkspaceSpec.model_validate(base | changes)


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, nats_url="nats://nats.triage:4222",  # type: ignore[call-arg]
                    worker_image="ghcr.io/acme/triage-{component}:2.0", **overrides)


def template_hash(manifest: dict[str, Any]) -> str:
    return str(manifest["spec"]["template"]["metadata"]["annotations"][HASH_ANNOTATION])


@pytest.mark.parametrize("component", ["orchestrator", "tools"])
def test_deployments_are_valid_kubernetes_manifests(component: str) -> None:
    manifest = deployment(OWNER, spec(), settings(), component)
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_configmap_is_valid_and_carries_the_workspace_config() -> None:
    manifest = configmap(OWNER, spec())
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    assert manifest["metadata"]["name"] == "triage-ws-acme"
    assert manifest["data"]["tools"] == "github.search_issues"


def test_the_configmap_holds_only_keys_a_worker_reads() -> None:
    """Approvers, routes and the budget go through the workspace directory: an unread
    copy here would mislead, and roll the workers on every change of them."""
    read = {e["valueFrom"]["configMapKeyRef"]["key"]
            for manifest in deployments(OWNER, spec(), settings())
            for e in manifest["spec"]["template"]["spec"]["containers"][0]["env"]
            if "configMapKeyRef" in e.get("valueFrom", {})}
    assert set(configmap(OWNER, spec())["data"]) == read
    before = template_hash(deployment(OWNER, spec(), settings(), "tools"))
    edited = spec(approvers=["U0002"], budgetUsdPerDay=9,
                  modelRoutes={"agent": [{"provider": "offline", "model": "offline-rules-1"}]})
    assert template_hash(deployment(OWNER, edited, settings(), "tools")) == before


def test_the_workspace_pins_its_skills_and_tools_in_the_orchestrator() -> None:
    pinned = spec(skills=["incident@ca37fdfaf14e", "general"])
    assert configmap(OWNER, pinned)["data"]["skills"] == "incident@ca37fdfaf14e,general"
    container = deployment(OWNER, pinned, settings(), "orchestrator")["spec"]["template"][
        "spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["configMapKeyRef"]["key"] for e in container["env"]
            if "valueFrom" in e and "configMapKeyRef" in e["valueFrom"]}
    assert refs["SKILLS"] == "skills" and refs["ALLOWED_TOOLS"] == "tools"


def test_a_malformed_skill_pin_is_refused() -> None:
    with pytest.raises(InvalidSpec, match=r"spec.skills.0"):
        parse_spec("acme", {"teamId": "T0001", "skills": ["incident@zz"]})


def test_tools_get_only_the_github_secret_and_orchestrator_none() -> None:
    tools, orchestrator = (deployment(OWNER, spec(), settings(worker_env_secret="common"), c)
                           for c in ("tools", "orchestrator"))
    refs = [[e["secretRef"]["name"] for e in d["spec"]["template"]["spec"]["containers"][0]
             ["envFrom"]] for d in (tools, orchestrator)]
    assert refs == [["common", "acme-github"], ["common"]]


def test_secret_refs_no_worker_mounts_are_named() -> None:
    every = spec(secretRefs={"github": "g", "slack": "s", "openai": "o", "database": "d"})
    assert unused_secret_refs(every) == [
        "secretRefs.database", "secretRefs.openai", "secretRefs.slack"]
    assert unused_secret_refs(spec(secretRefs={"github": "g"})) == []


def test_image_template_and_spec_override() -> None:
    image = deployment(OWNER, spec(), settings(), "tools")["spec"]["template"]["spec"][
        "containers"][0]["image"]
    assert image == "ghcr.io/acme/triage-tools:2.0"
    override = deployment(OWNER, spec(image="registry.local/all-in-one:1"), settings(), "tools")
    assert override["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.local/all-in-one:1"


def test_config_changes_roll_pods_but_replica_changes_do_not() -> None:
    base = template_hash(deployment(OWNER, spec(), settings(), "orchestrator"))
    resources = spec().workers.resources.model_dump()
    scaled = deployment(OWNER, spec(workers={"replicas": 7, "resources": resources}),
                        settings(), "orchestrator")
    assert scaled["spec"]["replicas"] == 7
    assert template_hash(scaled) == base  # scaling alone restarts nothing
    rechanneled = spec(channels=["C0001", "C0002"])
    assert template_hash(deployment(OWNER, rechanneled, settings(), "orchestrator")) != base
    resized = spec(workers={"replicas": 2, "resources": {"limits": {"memory": "2Gi"}}})
    assert template_hash(deployment(OWNER, resized, settings(), "orchestrator")) != base


def test_selector_is_stable_and_matches_the_pod_labels() -> None:
    for manifest in deployments(OWNER, spec(), settings()):
        selector = manifest["spec"]["selector"]["matchLabels"]
        labels = manifest["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
    first = deployment(OWNER, spec(), settings(), "tools")["spec"]["selector"]
    later = deployment(OWNER, spec(teamId="T0002", channels=[]), settings(), "tools")
    assert later["spec"]["selector"] == first  # selectors are immutable in Kubernetes


def test_workers_get_the_public_grant_keys_and_no_private_key() -> None:
    keys = settings(worker_grant_keys_config_map="triage-grant-keys")
    for component in ("tools", "orchestrator"):
        env = deployment(OWNER, spec(), keys, component)["spec"]["template"]["spec"][
            "containers"][0]["env"]
        grant = [e for e in env if e["name"].startswith("GRANT_")]
        assert grant == [{"name": "GRANT_PUBLIC_KEYS", "valueFrom": {"configMapKeyRef": {
            "name": "triage-grant-keys", "key": "GRANT_PUBLIC_KEYS"}}}]
