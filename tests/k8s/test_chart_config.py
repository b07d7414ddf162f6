"""What the chart hands the services is what the services read: the ConfigMaps carry the
workflow, skills and routes the services ship (and load with their own validators), every
env var the chart sets is a setting of that service, and sharedWorkers=false removes the
all-team workers entirely."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import CHART, ROOT, load_values
from triage_approval.settings import Settings as ApprovalSettings
from triage_audit.settings import Settings as AuditSettings
from triage_ingress.settings import Settings as IngressSettings
from triage_operator.settings import Settings as OperatorSettings
from triage_orchestrator.settings import Settings as OrchestratorSettings
from triage_orchestrator.skills import load_skills
from triage_orchestrator.spec import load_workflow
from triage_router.routes import load_routes
from triage_router.settings import Settings as RouterSettings
from triage_tools.settings import Settings as ToolsSettings

SETTINGS = {"ingress": IngressSettings, "notifier": IngressSettings,
            "orchestrator": OrchestratorSettings, "tools": ToolsSettings,
            "router": RouterSettings, "audit": AuditSettings, "approval": ApprovalSettings,
            "operator": OperatorSettings}
# Process environment, not a setting: HOME points the tools' caches at the writable /tmp.
NOT_SETTINGS = {"HOME"}
# Variables referenced ahead of the code that reads them (none today).
PENDING: set[tuple[str, str]] = set()
ORCHESTRATOR = ROOT / "services" / "orchestrator" / "src" / "triage_orchestrator"
ROUTER = ROOT / "services" / "router" / "src" / "triage_router"


@pytest.mark.parametrize(("shipped", "copy"), [
    (ORCHESTRATOR / "workflow.yaml", CHART / "files" / "workflow.yaml"),
    (ROUTER / "routes.yaml", CHART / "files" / "routes.yaml"),
    *[(skill, CHART / "files" / "skills" / f"{skill.parent.name}.SKILL.md")
      for skill in sorted((ORCHESTRATOR / "skills").glob("*/SKILL.md"))],
])
def test_chart_defaults_are_copies_of_what_the_services_ship(shipped: Path, copy: Path) -> None:
    assert copy.read_bytes() == shipped.read_bytes(), f"copy {shipped} to {copy}"


def test_no_stale_skill_copies() -> None:
    shipped = {f"{p.parent.name}.SKILL.md" for p in (ORCHESTRATOR / "skills").glob("*/SKILL.md")}
    assert {p.name for p in (CHART / "files" / "skills").iterdir()} == shipped


def write_configmap(rendered: Any, name: str, folder: Path) -> Path:
    folder.mkdir()
    for key, text in rendered.get("ConfigMap", name)["data"].items():
        (folder / key).write_text(text)
    return folder


async def test_configmaps_load_with_the_services_validators(render, tmp_path: Path) -> None:
    rendered = await render({})
    workflow = load_workflow(write_configmap(rendered, "triage-workflow", tmp_path / "wf")
                             / "workflow.yaml")
    assert [step.id for step in workflow.steps][:2] == ["classify", "investigate"]
    skills = load_skills(write_configmap(rendered, "triage-skills", tmp_path / "skills"))
    assert {s.name for s in skills} == {"incident", "change-review", "issue-summary", "general"}
    routes = load_routes(write_configmap(rendered, "triage-routes", tmp_path / "routes")
                         / "routes.yaml")
    assert {"agent", "classify"} <= set(routes.routes)


def checksum(rendered: Any, name: str = "triage-router") -> str:
    deployment = rendered.get("Deployment", name)
    return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


async def test_values_override_workflow_routes_and_skills(render) -> None:
    routes = ("version: 1\nroutes:\n  agent:\n"
              "    - {provider: offline, model: offline-rules-1}\n")
    skill = (CHART / "files" / "skills" / "general.SKILL.md").read_text().replace(
        "name: general", "name: runbook")
    config = load_values("defaults").get("config", {}) | {
        "environment": "production", "logLevel": "INFO", "logJson": True, "teamScope": "",
        "githubRepos": [], "modelRoutes": routes, "defaultSkills": False,
        "skills": {"runbook.SKILL.md": skill}}
    default = await render({})
    custom = await render({"config": config})
    assert custom.get("ConfigMap", "triage-routes")["data"]["routes.yaml"].strip() == routes.strip()
    assert set(custom.get("ConfigMap", "triage-skills")["data"]) == {"runbook.SKILL.md"}
    # Every workload carries one checksum of the rendered ConfigMaps: a config change rolls them.
    assert {checksum(custom, d["metadata"]["name"]) for d in custom.of_kind("Deployment")} == {
        checksum(custom)}
    assert len(checksum(custom)) == 64 and checksum(custom) != checksum(default)


def chart_env(rendered: Any, deployment: dict[str, Any]) -> set[str]:
    common = set(rendered.get("ConfigMap", "triage-env")["data"])
    own = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    return common | own


@pytest.mark.parametrize("values", [
    {}, {"notifier": {"enabled": False}}, load_values("ha"), load_values("workspaces"),
    load_values("oauth")], ids=["defaults", "ingress-role-all", "ha", "workspaces", "oauth"])
async def test_every_env_var_is_a_setting_of_its_service(render, values) -> None:
    """A misspelt or stale variable would be silently ignored by pydantic-settings."""
    rendered = await render(values)
    for deployment in rendered.of_kind("Deployment"):
        name = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        fields = {field.upper() for field in SETTINGS[name].model_fields}
        unknown = {var for var in chart_env(rendered, deployment) - fields - NOT_SETTINGS
                   if (name, var) not in PENDING}
        assert not unknown, f"{name} does not read {sorted(unknown)}"


async def test_operator_builds_workers_from_the_release_image_and_secret(render) -> None:
    rendered = await render({"image": {"repositoryPrefix": "registry.acme/triage", "tag": "1.2.3",
                                       "pullPolicy": "Always"}})
    env = {e["name"]: e for e in rendered.get("Deployment", "triage-operator")
           ["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["WORKER_IMAGE"]["value"] == "registry.acme/triage/triage-{component}:1.2.3"
    assert env["WORKER_ENV_SECRET"]["value"] == "triage-worker-env"
    assert env["OPERATOR_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}}
    settings = OperatorSettings(worker_image=env["WORKER_IMAGE"]["value"])
    tools = rendered.get("Deployment", "triage-tools")["spec"]["template"]["spec"]
    assert settings.worker_image.replace("{component}", "tools") == tools["containers"][0]["image"]


async def test_operator_replicas_elect_a_leader_only_when_there_are_several(render) -> None:
    """One replica acts without a lease; more stand by until they hold it, each under its
    pod name (the schema allows up to 3)."""
    def env(rendered: Any) -> dict[str, Any]:
        return {e["name"]: e.get("value", e.get("valueFrom")) for e in rendered.get(
            "Deployment", "triage-operator")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "LEADER_ELECTION" not in env(await render({}))
    two = env(await render({"operator": {"replicaCount": 2}}))
    assert two["LEADER_ELECTION"] == "true"
    assert two["LEADER_IDENTITY"] == {"fieldRef": {"fieldPath": "metadata.name"}}


async def test_without_shared_workers_only_the_operator_runs_the_workers(render) -> None:
    rendered = await render(load_values("workspaces"))
    names = {(m["kind"], m["metadata"]["name"]) for m in rendered.manifests}
    for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget",
                 "ScaledObject", "HorizontalPodAutoscaler"):
        for shared in ("triage-orchestrator", "triage-tools", "triage-router",
                       "triage-notifier"):
            assert (kind, shared) not in names
    assert ("Deployment", "triage-operator") in names
    assert ("Deployment", "triage-ingress") in names  # the edge stays shared
    for component in ("orchestrator", "tools", "router", "notifier", "audit"):
        assert ("NetworkPolicy", f"triage-workspace-{component}") in names
    # The routes file stays: the operator mounts it in every workspace's router.
    assert ("ConfigMap", "triage-routes") in names
    assert "per-workspace only" in rendered.notes



async def test_skills_configmap_may_be_empty(render) -> None:
    """defaultSkills=false without config.skills: an empty (valid) ConfigMap, not a null."""
    config = {"environment": "production", "logLevel": "INFO", "logJson": True,
              "teamScope": "", "githubRepos": [], "defaultSkills": False}
    rendered = await render({"config": config})
    assert rendered.get("ConfigMap", "triage-skills")["data"] == {}


async def test_fair_share_and_the_queued_notice_are_set_from_values(render) -> None:
    rendered = await render({"orchestrator": {"teamMaxActiveRuns": 4},
                             "ingress": {"queuedNoticeThreshold": 0}})

    def env(name: str) -> dict[str, str]:
        container = rendered.get("Deployment", f"triage-{name}")["spec"]["template"]["spec"][
            "containers"][0]
        return {e["name"]: e["value"] for e in container["env"] if "value" in e}

    orchestrator, ingress = env("orchestrator"), env("ingress")
    assert orchestrator["TEAM_MAX_ACTIVE_RUNS"] == "4"
    assert ingress["QUEUED_NOTICE_THRESHOLD"] == "0"
    # The services read them as set (0 switches the notice off).
    fields = OrchestratorSettings.model_fields
    assert fields["team_max_active_runs"].default == 16 == load_values_default(
        "orchestrator", "teamMaxActiveRuns")
    assert IngressSettings.model_fields["queued_notice_threshold"].default == \
        load_values_default("ingress", "queuedNoticeThreshold")


def load_values_default(component: str, key: str) -> Any:
    return yaml.safe_load((CHART / "values.yaml").read_text())[component][key]


async def test_shared_read_ttl_is_set_from_values(render) -> None:
    """tools.sharedReadTtlSeconds reaches the tools as SHARED_READ_TTL_S; its default is the
    service's own (0: only reads in flight are shared)."""
    def tools_env(rendered: Any) -> dict[str, str]:
        container = rendered.get("Deployment", "triage-tools")["spec"]["template"]["spec"][
            "containers"][0]
        return {e["name"]: e["value"] for e in container["env"] if "value" in e}

    assert tools_env(await render({}))["SHARED_READ_TTL_S"] == "0"
    assert tools_env(await render({"tools": {"sharedReadTtlSeconds": 2}}))[
        "SHARED_READ_TTL_S"] == "2"
    assert ToolsSettings.model_fields["shared_read_ttl_s"].default == \
        load_values_default("tools", "sharedReadTtlSeconds")
