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
    workspace_sinks,
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


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    return dict(manifest["spec"]["template"]["spec"]["containers"][0])


# Every WORKER_* the chart passes for the router, so the manifests are checked with them.
ROUTER_SETTINGS = {"worker_routes_config_map": "triage-routes",
                   "worker_openai_base_url": "https://llm.acme.example/v1",
                   "worker_daily_budget_usd": "7.5", "worker_openai_secret": "triage-openai",
                   "worker_openai_secret_key": "api-key",
                   "worker_image_router": "registry.acme.example/router:3"}


# ... and for the notifier, in both ways a release reaches Slack.
BOT_TOKEN_RELEASE = {"worker_slack_secret": "triage-slack", "worker_slack_bot_token_key": "bot",
                     "worker_slack_api_url": "https://slack.acme.example/api/",
                     "worker_image_notifier": "registry.acme.example/ingress:3"}
OAUTH_RELEASE = BOT_TOKEN_RELEASE | {
    "worker_slack_client_id": "123.456", "worker_slack_database_secret": "triage-database",
    "worker_slack_database_key": "ingress-url", "worker_vault_secret": "triage-vault",
    "worker_vault_key": "master-keys", "worker_slack_client_secret_key": "client-secret"}
# ... and for the audit worker of a Workspace with its own database.
AUDIT_RELEASE = {"worker_audit_secret": "triage-audit",
                 "worker_audit_checkpoint_key_key": "checkpoint-key",
                 "worker_audit_anchor_sinks": "s3://acme-audit/anchors?lock_mode=COMPLIANCE"}


@pytest.mark.parametrize("component", ["orchestrator", "tools", "router", "notifier", "audit"])
@pytest.mark.parametrize("refs", [{}, {"github": "g", "openai": "o", "slack": "s",
                                       "database": "d"}])
@pytest.mark.parametrize("release", [BOT_TOKEN_RELEASE, OAUTH_RELEASE])
def test_deployments_are_valid_kubernetes_manifests(component: str, refs: dict[str, str],
                                                     release: dict[str, str]) -> None:
    manifest = deployment(OWNER, spec(secretRefs=refs),
                          settings(**ROUTER_SETTINGS, **release, **AUDIT_RELEASE), component)
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_every_workspace_has_a_router_and_a_notifier_worker() -> None:
    names = [d["metadata"]["name"] for d in deployments(OWNER, spec(), settings())]
    assert names == ["triage-ws-acme-orchestrator", "triage-ws-acme-tools",
                     "triage-ws-acme-router", "triage-ws-acme-notifier"]


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


def test_each_worker_gets_only_the_workspace_secret_it_talks_to() -> None:
    """GitHub's in tools only, the model key in the router only, Slack's in the notifier."""
    keyed = spec(secretRefs={"github": "acme-github", "openai": "acme-openai",
                             "slack": "acme-slack"})
    found = {c: [e["secretRef"]["name"] for e in container(deployment(
                 OWNER, keyed, settings(worker_env_secret="common"), c))["envFrom"]]
             for c in ("tools", "orchestrator", "router", "notifier")}
    assert found == {"tools": ["common", "acme-github"], "orchestrator": ["common"],
                     "router": ["common", "acme-openai"], "notifier": ["common", "acme-slack"]}


def test_an_audit_worker_runs_only_for_a_workspace_with_its_own_database() -> None:
    """Its Secret (DATABASE_URL, AUDIT_API_TOKEN) in the audit worker only; the release's
    checkpoint key; the release's sinks under the team's own folder."""
    own = spec(secretRefs={"github": "acme-github", "database": "acme-audit-db"})
    release = settings(worker_env_secret="common", worker_image_audit="registry/audit:3",
                       worker_github_api_url="https://ghe.acme.example/api/v3",
                       **AUDIT_RELEASE)
    names = [d["metadata"]["name"] for d in deployments(OWNER, own, release)]
    assert names[-1] == "triage-ws-acme-audit" and len(names) == 5
    audit = container(deployment(OWNER, own, release, "audit"))
    assert audit["image"] == "registry/audit:3"
    assert [e["secretRef"]["name"] for e in audit["envFrom"]] == ["common", "acme-audit-db"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in audit["env"]}
    assert env["TEAM_SCOPE"] == "T0001"
    assert env["AUDIT_ANCHOR_SINKS"] == \
        "s3://acme-audit/anchors/workspaces/T0001?lock_mode=COMPLIANCE"
    assert env["AUDIT_CHECKPOINT_KEY"] == {"secretKeyRef": {
        "name": "triage-audit", "key": "checkpoint-key"}}
    assert "DATABASE_URL" not in env and "AUDIT_API_TOKEN" not in env  # envFrom's win
    assert "GITHUB_API_URL" not in env  # the tools' settings stay the tools'
    others = [e for c in ("orchestrator", "tools", "router", "notifier")
              for e in container(deployment(OWNER, own, release, c))["envFrom"]]
    assert {"secretRef": {"name": "acme-audit-db"}} not in others
    assert len(deployments(OWNER, spec(), release)) == 4


def test_each_sink_gets_the_teams_own_folder() -> None:
    assert workspace_sinks("file:///var/anchors/, s3://b/p?endpoint_url=http://m:9000",
                           "T9") == \
        "file:///var/anchors/workspaces/T9,s3://b/p/workspaces/T9?endpoint_url=http://m:9000"
    assert workspace_sinks("s3://bucket", "T9") == "s3://bucket/workspaces/T9"
    assert workspace_sinks("  ", "T9") == ""


def slack_env(ws: WorkspaceSpec, release: dict[str, str]) -> dict[str, Any]:
    env = container(deployment(OWNER, ws, settings(**release), "notifier"))["env"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def test_the_notifier_runs_the_ingress_image_in_its_notifier_role() -> None:
    notifier = deployment(OWNER, spec(), settings(), "notifier")
    assert container(notifier)["image"] == "ghcr.io/acme/triage-ingress:2.0"
    env = slack_env(spec(), BOT_TOKEN_RELEASE)
    assert (env["ROLE"], env["TEAM_SCOPE"], env["SLACK_API_URL"]) == (
        "notifier", "T0001", "https://slack.acme.example/api/")
    assert container(deployment(OWNER, spec(), settings(**BOT_TOKEN_RELEASE), "notifier"))[
        "image"] == "registry.acme.example/ingress:3"


def test_without_its_own_slack_secret_the_notifier_reaches_slack_as_the_releases() -> None:
    own = spec(secretRefs={"slack": "acme-slack"})
    bot = {"secretKeyRef": {"name": "triage-slack", "key": "bot"}}
    assert slack_env(spec(secretRefs={}), BOT_TOKEN_RELEASE)["SLACK_BOT_TOKEN"] == bot
    oauth = slack_env(spec(secretRefs={}), OAUTH_RELEASE)
    assert oauth["SLACK_CLIENT_ID"] == "123.456"  # the release's token only if not installed
    assert oauth["SLACK_BOT_TOKEN"] == {"secretKeyRef": bot["secretKeyRef"] | {"optional": True}}
    assert oauth["DATABASE_URL"] == {"secretKeyRef": {"name": "triage-database",
                                                      "key": "ingress-url"}}
    assert oauth["VAULT_MASTER_KEYS"] == {"secretKeyRef": {"name": "triage-vault",
                                                           "key": "master-keys"}}
    assert oauth["SLACK_CLIENT_SECRET"] == {"secretKeyRef": {"name": "triage-slack",
                                                             "key": "client-secret"}}
    # The Workspace's own Secret (envFrom) is never overridden by an `env` entry.
    for release in (BOT_TOKEN_RELEASE, OAUTH_RELEASE):
        assert not {"SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "DATABASE_URL",
                    "VAULT_MASTER_KEYS"} & set(slack_env(own, release))
    for other in ("orchestrator", "tools", "router"):  # Slack's keys reach the notifier only
        env = container(deployment(OWNER, spec(secretRefs={}), settings(**OAUTH_RELEASE),
                                   other))["env"]
        assert not {"SLACK_BOT_TOKEN", "DATABASE_URL", "VAULT_MASTER_KEYS"} & {
            e["name"] for e in env}


def model_key_env(ws: WorkspaceSpec, **overrides: Any) -> list[dict[str, Any]]:
    env = container(deployment(OWNER, ws, settings(**overrides), "router"))["env"]
    return [e for e in env if e["name"] == "OPENAI_API_KEY"]


def test_without_its_own_key_the_router_gets_the_releases_key() -> None:
    release = {"worker_openai_secret": "triage-openai", "worker_openai_secret_key": "k1"}
    assert model_key_env(spec(), **release) == [{"name": "OPENAI_API_KEY", "valueFrom": {
        "secretKeyRef": {"name": "triage-openai", "key": "k1", "optional": True}}}]
    # The Workspace's own Secret (envFrom) must not be overridden by an `env` entry.
    assert model_key_env(spec(secretRefs={"openai": "acme-openai"}), **release) == []
    assert model_key_env(spec()) == []  # no release key: offline routes only
    for other in ("orchestrator", "tools"):
        env = container(deployment(OWNER, spec(), settings(**release), other))["env"]
        assert "OPENAI_API_KEY" not in {e["name"] for e in env}


def test_the_router_gets_the_shared_routers_settings_and_routes_file() -> None:
    router = deployment(OWNER, spec(), settings(**ROUTER_SETTINGS), "router")
    env = {e["name"]: e.get("value") for e in container(router)["env"]}
    assert {k: env[k] for k in ("TEAM_SCOPE", "OPENAI_BASE_URL", "DAILY_BUDGET_USD",
                                "ROUTES_FILE")} == {
        "TEAM_SCOPE": "T0001", "OPENAI_BASE_URL": "https://llm.acme.example/v1",
        "DAILY_BUDGET_USD": "7.5", "ROUTES_FILE": "/etc/triage/routes/routes.yaml"}
    assert container(router)["image"] == "registry.acme.example/router:3"
    pod = router["spec"]["template"]["spec"]
    assert {"name": "routes", "configMap": {"name": "triage-routes"}} in pod["volumes"]
    assert {"name": "routes", "mountPath": "/etc/triage/routes", "readOnly": True} in \
        container(router)["volumeMounts"]
    # The router reads nothing from the workspace ConfigMap (routes and budget come from
    # the workspace directory) and verifies no approval grant.
    assert not [e for e in container(router)["env"] if "configMapKeyRef" in
                e.get("valueFrom", {})]
    unset = container(deployment(OWNER, spec(), settings(), "router"))
    assert not {"OPENAI_BASE_URL", "DAILY_BUDGET_USD", "ROUTES_FILE"} & {
        e["name"] for e in unset["env"]}  # the router's own defaults then


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
    router = container(deployment(OWNER, spec(), keys, "router"))["env"]
    assert not [e for e in router if e["name"].startswith("GRANT_")]  # it checks no grant
    for component in ("tools", "orchestrator"):
        env = deployment(OWNER, spec(), keys, component)["spec"]["template"]["spec"][
            "containers"][0]["env"]
        grant = [e for e in env if e["name"].startswith("GRANT_")]
        assert grant == [{"name": "GRANT_PUBLIC_KEYS", "valueFrom": {"configMapKeyRef": {
            "name": "triage-grant-keys", "key": "GRANT_PUBLIC_KEYS"}}}]
