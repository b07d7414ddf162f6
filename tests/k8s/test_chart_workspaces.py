"""The per-workspace workers the operator makes are at parity with the shared ones the chart
renders: the operator's settings come from the chart, and the Deployment it builds from
them carries the same images, pull secrets, files and endpoints as the shared orchestrator,
tools and router (so Slack links do not point at 127.0.0.1, a private registry works, the
workflow, skills and routes are the release's, and a Workspace without a model key of its
own uses the release's). Compared on one install with both present."""

from typing import Any

from chartkit import load_values
from triage_operator.resources import Owner, deployment
from triage_operator.settings import Settings
from triage_operator.spec import parse_spec

PARITY_ENV = {
    "orchestrator": ["APPROVAL_PUBLIC_URL", "WORKFLOW_FILE", "SKILLS_DIR", "LOG_LEVEL"],
    "tools": ["GITHUB_API_URL", "PROMETHEUS_URL", "ALERTMANAGER_URL", "SHARED_READ_TTL_S",
              "LOG_LEVEL"],
    "router": ["OPENAI_BASE_URL", "DAILY_BUDGET_USD", "ROUTES_FILE", "LOG_LEVEL"],
    "notifier": ["ROLE", "SLACK_API_URL", "LOG_LEVEL"],
}
VALUES: dict[str, Any] = load_values("workspaces") | {
    "sharedWorkers": {"enabled": True},  # rendered beside the operator, to compare with
    "imagePullSecrets": [{"name": "regcred"}],
    "orchestrator": {"image": {"repository": "registry.acme.example/orch", "tag": "7"},
                     "approvalPublicUrl": "https://approvals.acme.example"},
    "tools": {"prometheusUrl": "http://prometheus.monitoring:9090",
              "alertmanagerUrl": "http://alertmanager.monitoring:9093",
              "githubApiUrl": "https://ghe.acme.example/api/v3", "sharedReadTtlSeconds": 2},
    "router": {"image": {"repository": "registry.acme.example/router", "tag": "9"},
               "openaiBaseUrl": "https://llm.acme.example/v1", "dailyBudgetUsd": 12.5},
    "secrets": {"openai": {"existingSecret": "acme-llm", "apiKeyKey": "token"},
                "slack": {"existingSecret": "acme-slack-app", "botTokenKey": "xoxb"}},
    "notifier": {"image": {"repository": "registry.acme.example/edge", "tag": "4"}},
    "ingress": {"slackApiUrl": "https://slack-proxy.acme.example/api/"},
}
OAUTH: dict[str, Any] = VALUES | {
    "ingress": {"slackApiUrl": "https://slack-proxy.acme.example/api/",
                "oauth": {"clientId": "123.456", "tokenRotation": True}},
    "secrets": VALUES["secrets"] | {
        "database": {"existingSecret": "acme-db", "ingressUrlKey": "ingress-dsn"},
        "vault": {"existingSecret": "acme-vault", "masterKeysKey": "keys"}},
}


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    return dict(manifest["spec"]["template"]["spec"]["containers"][0])


def env(manifest: dict[str, Any], configmaps: dict[str, dict[str, str]]) -> dict[str, str]:
    """A container's environment as the kubelet resolves plain values and envFrom
    ConfigMaps (references to Secrets and fields are left out)."""
    found: dict[str, str] = {}
    for source in container(manifest).get("envFrom", []):
        if "configMapRef" in source:
            found |= configmaps[source["configMapRef"]["name"]]
    for item in container(manifest).get("env", []):
        if "value" in item:
            found[item["name"]] = item["value"]
    return found


def mounts(manifest: dict[str, Any]) -> dict[str, str]:
    """Mount path -> the ConfigMap mounted there."""
    pod = manifest["spec"]["template"]["spec"]
    volumes = {v["name"]: v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    return {m["mountPath"]: volumes[m["name"]] for m in container(manifest)["volumeMounts"]
            if m["name"] in volumes}


def configmaps(rendered: Any) -> dict[str, dict[str, str]]:
    return {c["metadata"]["name"]: c.get("data") or {} for c in rendered.of_kind("ConfigMap")}


def operator_settings(rendered: Any) -> Settings:
    """The operator's settings as its container gets them from the chart."""
    operator_env = env(rendered.get("Deployment", "triage-operator"), configmaps(rendered))
    return Settings(_env_file=None, **{  # type: ignore[arg-type]
        key.lower(): value for key, value in operator_env.items()
        if key.startswith("WORKER_") or key in ("NATS_URL", "LOG_LEVEL")})


async def test_workspace_network_policies_select_this_releases_workers_only(render) -> None:
    rendered = await render(load_values("workspaces"))
    settings = operator_settings(rendered)
    ws = parse_spec("acme", {"teamId": "T0001", "secretRefs": {"database": "acme-db"}})
    ours = Owner(name="acme", namespace="triage", uid="u1", release=settings.worker_release)
    theirs = Owner(name="acme2", namespace="triage", uid="u2", release="other-release")
    for component in ("orchestrator", "tools", "router", "notifier", "audit"):
        policy = rendered.get("NetworkPolicy", f"triage-workspace-{component}")
        selector = policy["spec"]["podSelector"]["matchLabels"].items()
        pod_labels = deployment(ours, ws, settings, component)["spec"]["template"]["metadata"]
        other_labels = deployment(theirs, ws, settings, component)["spec"]["template"]["metadata"]
        assert selector <= pod_labels["labels"].items()
        assert not selector <= other_labels["labels"].items()


async def test_workspace_workers_get_what_the_shared_workers_get(render) -> None:
    rendered = await render(VALUES)
    settings, configmaps_ = operator_settings(rendered), configmaps(rendered)
    ws = parse_spec("acme", {"teamId": "T0001"})
    owner = Owner(name="acme", namespace="triage", uid="u1", release=settings.worker_release)

    for component, names in PARITY_ENV.items():
        shared = rendered.get("Deployment", f"triage-{component}")
        worker = deployment(owner, ws, settings, component)
        shared_env, worker_env = env(shared, configmaps_), env(worker, configmaps_)
        assert {n: worker_env.get(n) for n in names} == {n: shared_env.get(n) for n in names}
        assert container(worker)["image"] == container(shared)["image"]
        assert worker["spec"]["template"]["spec"]["imagePullSecrets"] == \
            shared["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
        assert mounts(shared).items() <= mounts(worker).items()
    orchestrator = env(deployment(owner, ws, settings, "orchestrator"), configmaps_)
    assert orchestrator["APPROVAL_PUBLIC_URL"] == "https://approvals.acme.example"
    assert container(deployment(owner, ws, settings, "orchestrator"))["image"] == \
        "registry.acme.example/orch:7"
    router = env(deployment(owner, ws, settings, "router"), configmaps_)
    assert (router["OPENAI_BASE_URL"], router["DAILY_BUDGET_USD"]) == \
        ("https://llm.acme.example/v1", "12.5")


def model_key(manifest: dict[str, Any]) -> Any:
    return next(e["valueFrom"] for e in container(manifest)["env"]
                if e["name"] == "OPENAI_API_KEY")


async def test_a_workspace_router_without_its_own_key_gets_the_releases(render) -> None:
    rendered = await render(VALUES)
    settings = operator_settings(rendered)
    owner = Owner(name="acme", namespace="triage", uid="u1", release=settings.worker_release)
    worker = deployment(owner, parse_spec("acme", {"teamId": "T0001"}), settings, "router")
    assert model_key(worker) == model_key(rendered.get("Deployment", "triage-router")) == {
        "secretKeyRef": {"name": "acme-llm", "key": "token", "optional": True}}
    own = parse_spec("acme", {"teamId": "T0001", "secretRefs": {"openai": "acme-openai"}})
    keyed = container(deployment(owner, own, settings, "router"))
    assert "OPENAI_API_KEY" not in {e["name"] for e in keyed["env"]}
    assert {"secretRef": {"name": "acme-openai"}} in keyed["envFrom"]


SLACK_KEYS = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "DATABASE_URL",
              "VAULT_MASTER_KEYS")


def slack_env(manifest: dict[str, Any]) -> dict[str, Any]:
    """How a notifier reaches Slack: its Slack settings, values or Secret references."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(manifest)["env"]
            if e["name"] in SLACK_KEYS}


async def test_a_workspace_notifier_without_its_own_token_reaches_slack_as_the_shared_one(
        render) -> None:
    """With the release's bot token, and with the OAuth install flow (the team's
    installation: client id, install store DSN, vault keys, and the client secret for token
    rotation): the same references as the shared notifier."""
    for values in (VALUES, OAUTH):
        rendered = await render(values)
        settings = operator_settings(rendered)
        owner = Owner(name="acme", namespace="triage", uid="u1",
                      release=settings.worker_release)
        worker = deployment(owner, parse_spec("acme", {"teamId": "T0001"}), settings,
                            "notifier")
        shared = slack_env(rendered.get("Deployment", "triage-notifier"))
        assert slack_env(worker) == shared
        assert set(shared) == ({"SLACK_BOT_TOKEN"} if values is VALUES else set(SLACK_KEYS))
        own = parse_spec("acme", {"teamId": "T0001", "secretRefs": {"slack": "acme-slack"}})
        keyed = container(deployment(owner, own, settings, "notifier"))
        assert not set(slack_env({"spec": {"template": {"spec": {"containers": [keyed]}}}}))
        assert {"secretRef": {"name": "acme-slack"}} in keyed["envFrom"]


async def test_with_workspaces_only_the_edge_runs_and_no_shared_notifier(render) -> None:
    """sharedWorkers.enabled=false: the operator's notifiers drain notify-<team>, so neither
    a shared notifier nor an ingress in ROLE=all may take `notifier` on WORK."""
    for notifier in (True, False):
        rendered = await render(load_values("workspaces") | {"notifier": {"enabled": notifier}})
        names = {d["metadata"]["name"] for d in rendered.of_kind("Deployment")}
        assert "triage-ingress" in names and "triage-notifier" not in names
        ingress = rendered.get("Deployment", "triage-ingress")
        assert env(ingress, configmaps(rendered))["ROLE"] == "edge"
        assert "SLACK_BOT_TOKEN" not in slack_env(ingress)


def secret_ref(manifest: dict[str, Any], name: str) -> Any:
    return next(e["valueFrom"] for e in container(manifest)["env"] if e["name"] == name)


async def test_a_workspace_audit_worker_anchors_as_the_shared_audit_in_its_own_folder(
        render) -> None:
    """secretRefs.database: the audit image and checkpoint key of the shared audit, its
    sinks each under workspaces/<teamId>; its database and token from the team's Secret."""
    sinks = "s3://acme-audit/anchors?endpoint_url=https://s3.acme.example"
    rendered = await render(VALUES | {
        "audit": {"anchorSinks": sinks, "image": {"repository": "registry.acme.example/audit",
                                                  "tag": "5"}},
        "secrets": VALUES["secrets"] | {"audit": {"existingSecret": "acme-audit-keys",
                                                  "checkpointKeyKey": "ed25519"}}})
    settings = operator_settings(rendered)
    owner = Owner(name="acme", namespace="triage", uid="u1", release=settings.worker_release)
    ws = parse_spec("acme", {"teamId": "T0001", "secretRefs": {"database": "acme-audit-db"}})
    worker, shared = deployment(owner, ws, settings, "audit"), rendered.get("Deployment",
                                                                            "triage-audit")
    assert container(worker)["image"] == container(shared)["image"] == \
        "registry.acme.example/audit:5"
    assert secret_ref(worker, "AUDIT_CHECKPOINT_KEY") == \
        secret_ref(shared, "AUDIT_CHECKPOINT_KEY") == {
            "secretKeyRef": {"name": "acme-audit-keys", "key": "ed25519"}}
    worker_env, shared_env = env(worker, {}), env(shared, configmaps(rendered))
    assert shared_env["AUDIT_ANCHOR_SINKS"] == sinks
    assert worker_env["AUDIT_ANCHOR_SINKS"] == \
        "s3://acme-audit/anchors/workspaces/T0001?endpoint_url=https://s3.acme.example"
    assert {"secretRef": {"name": "acme-audit-db"}} in container(worker)["envFrom"]
    assert "DATABASE_URL" not in {e["name"] for e in container(worker)["env"]}
