"""Least privilege in the rendered chart: hardened pods, the operator's RBAC limited to what
it manages, each secret only in the pods that use it, and NetworkPolicies that expose only
the Slack endpoints and the approval UI."""

import json
from typing import Any

import pytest
import yaml
from chartkit import CHART, load_values

WORKERS = {"ingress", "notifier", "orchestrator", "tools", "router", "audit", "approval",
           "operator"}


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def component(obj: dict[str, Any]) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


@pytest.mark.parametrize("value_set", ["defaults", "ha"])
async def test_every_pod_is_hardened_and_probed(render, value_set) -> None:
    rendered = await render(load_values(value_set))
    deployments = rendered.of_kind("Deployment")
    assert {component(d) for d in deployments} == WORKERS
    for deployment in deployments:
        spec = pod(deployment)
        name = deployment["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is (component(deployment) == "operator")
        (container,) = spec["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        http = {"name": "http", "containerPort": 8080, "protocol": "TCP"}
        if component(deployment) == "approval":  # its port is public: metrics on their own
            assert container["ports"] == [http, {"name": "metrics", "containerPort": 9090,
                                                 "protocol": "TCP"}]
        else:
            assert container["ports"] == [http]
        assert set(container["resources"]) == {"requests", "limits"}
        # The only writable path is the /tmp emptyDir; config mounts are read-only.
        for mount in container["volumeMounts"]:
            assert mount["mountPath"] == "/tmp" or mount.get("readOnly") is True, mount


async def test_operator_rbac_is_namespaced_and_minimal(render) -> None:
    rendered = await render({})
    assert not rendered.of_kind("ClusterRole") and not rendered.of_kind("ClusterRoleBinding")
    (role,) = rendered.of_kind("Role")
    granted = {(group, resource): set(rule["verbs"]) for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    # Exactly the verbs used (services/operator/tests/test_rbac.py records them).
    writes = {"create", "patch", "delete"}
    assert granted == {
        ("triage.dev", "workspaces"): {"get", "list", "watch", "patch"},
        ("triage.dev", "workspaces/status"): {"patch"},
        ("triage.dev", "workspaces/finalizers"): {"update"},
        ("apps", "deployments"): writes,
        ("", "configmaps"): writes,
        ("", "events"): {"create"},
    }
    (binding,) = rendered.of_kind("RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "triage-operator",
                                    "namespace": "triage"}]
    operator = rendered.get("Deployment", "triage-operator")
    assert pod(operator)["serviceAccountName"] == "triage-operator"
    assert operator["spec"]["strategy"] == {"type": "Recreate"}
    assert operator["spec"]["replicas"] == 1


def secret_refs(deployment: dict[str, Any]) -> dict[str, tuple[str, str]]:
    refs = {var["name"]: var["valueFrom"]["secretKeyRef"]
            for var in pod(deployment)["containers"][0]["env"]
            if "secretKeyRef" in var.get("valueFrom", {})}
    return {name: (ref["name"], ref["key"]) for name, ref in refs.items()}


async def test_the_provisioner_alone_gets_its_nats_identity(render) -> None:
    rendered = await render({})
    (job,) = rendered.of_kind("Job")
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert container["command"] == ["python", "-m", "triage_contracts.provision"]
    assert env["NATS_USER"]["value"] == "provisioner"
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "triage-nats", "key": "provisioner-password"}
    assert env["NATS_REPLICAS"]["value"] == "3"
    assert spec["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Its NetworkPolicy: DNS and NATS out, nothing else.
    policy = rendered.get("NetworkPolicy", "triage-provisioner")
    selector = policy["spec"]["podSelector"]["matchLabels"].items()
    assert selector <= job["spec"]["template"]["metadata"]["labels"].items()  # selects its pods
    assert len(policy["spec"]["egress"]) == 2
    users = {env_of(d)["NATS_USER"] for d in rendered.of_kind("Deployment")}
    assert users == {"ingress", "notifier", "orchestrator", "tools", "router", "audit",
                     "approval", "operator"}
    operator = env_of(rendered.get("Deployment", "triage-operator"))
    assert operator["WORKER_NATS_SECRET"] == "triage-nats"
    without_notifier = await render({"notifier": {"enabled": False}})
    assert env_of(without_notifier.get("Deployment", "triage-ingress"))["NATS_USER"] == \
        "ingress-all"


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in pod(deployment)["containers"][0]["env"]}


async def test_each_secret_reaches_only_the_pods_that_use_it(render) -> None:
    rendered = await render({})
    refs = {component(d): secret_refs(d) for d in rendered.of_kind("Deployment")}
    # Each pod connects to NATS as its own identity with its own password.
    for name, pod_refs in refs.items():
        assert pod_refs.pop("NATS_PASSWORD") == ("triage-nats", f"{name}-password"), name
    grant_key = {"GRANT_SIGNING_KEY": ("triage-approval", "grant-signing-key"),
                 "GRANT_SIGNING_KEY_ID": ("triage-approval", "grant-signing-key-id"),
                 "GRANT_TEAM_SIGNING_KEYS": ("triage-approval", "grant-team-signing-keys")}
    assert refs == {
        # The edge vouches for Slack button clicks it forwards to approval.
        "ingress": {"SLACK_SIGNING_SECRET": ("triage-slack", "signing-secret"),
                    "SERVICE_TOKEN": ("triage-approval", "service-token")},
        "notifier": {"SLACK_BOT_TOKEN": ("triage-slack", "bot-token")},
        "orchestrator": {},
        "tools": {"GITHUB_TOKEN": ("triage-github", "token"),
                  },
        "router": {"OPENAI_API_KEY": ("triage-openai", "api-key")},
        "audit": {"DATABASE_URL": ("triage-database", "audit-url"),
                  "AUDIT_API_TOKEN": ("triage-audit", "api-token"),
                  "AUDIT_CHECKPOINT_KEY": ("triage-audit", "checkpoint-key")},
        # No login configured: no session secret to sign a session with. The private grant
        # key reaches this pod and no other.
        "approval": {"DATABASE_URL": ("triage-database", "approval-url"),
                     "SERVICE_TOKEN": ("triage-approval", "service-token"), **grant_key},
        "operator": {},
    }
    # No Secret objects are ever rendered: everything is by reference.
    assert not rendered.of_kind("Secret")


def env_names(deployment: dict[str, Any]) -> set[str]:
    return {e["name"] for e in pod(deployment)["containers"][0]["env"]}


async def test_grant_public_keys_reach_the_verifiers_and_no_key_reaches_the_others(
        render) -> None:
    """Tools and orchestrator verify grants with public keys from a ConfigMap; no pod but
    approval has a private key, no pod has the old shared HMAC key."""
    rendered = await render(load_values("ha"))
    published = rendered.get("ConfigMap", "triage-grant-keys")["data"]["GRANT_PUBLIC_KEYS"]
    assert set(json.loads(published)) == {"2026-11", "2026-12", "acme-2026"}
    assert json.loads(published)["acme-2026"]["team"] == "T0ACME"
    for deployment in rendered.of_kind("Deployment"):
        name, env = component(deployment), env_names(deployment)
        assert "APPROVAL_SIGNING_KEY" not in env, name
        assert ("GRANT_SIGNING_KEY" in env) is (name == "approval"), name
        if name in {"tools", "orchestrator"}:
            (ref,) = [e for e in pod(deployment)["containers"][0]["env"]
                      if e["name"] == "GRANT_PUBLIC_KEYS"]
            assert ref["valueFrom"] == {"configMapKeyRef": {
                "name": "triage-grant-keys", "key": "GRANT_PUBLIC_KEYS"}}
        else:
            assert "GRANT_PUBLIC_KEYS" not in env, name
    approval = {e["name"]: e for e in pod(rendered.get("Deployment", "triage-approval"))
                ["containers"][0]["env"]}
    assert approval["GRANT_TTL_S"]["value"] == "1800"
    assert approval["GRANT_TEAM_SIGNING_KEYS"]["valueFrom"]["secretKeyRef"]["optional"] is True
    # Workspace workers get the same ConfigMap through the operator.
    operator = {e["name"]: e.get("value") for e in pod(rendered.get(
        "Deployment", "triage-operator"))["containers"][0]["env"]}
    assert operator["WORKER_GRANT_KEYS_CONFIG_MAP"] == "triage-grant-keys"


async def test_ingress_runs_both_roles_without_a_separate_notifier(render) -> None:
    rendered = await render({"notifier": {"enabled": False}})
    assert "triage-notifier" not in {d["metadata"]["name"] for d in rendered.of_kind("Deployment")}
    ingress = rendered.get("Deployment", "triage-ingress")
    env = {e["name"]: e.get("value") for e in pod(ingress)["containers"][0]["env"]}
    assert env["ROLE"] == "all"
    assert set(secret_refs(ingress)) == {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN",
                                         "SERVICE_TOKEN", "NATS_PASSWORD"}


async def test_slack_buttons_reach_the_approval_service(render) -> None:
    rendered = await render({})
    ingress = rendered.get("Deployment", "triage-ingress")
    env = {e["name"]: e.get("value") for e in pod(ingress)["containers"][0]["env"]}
    assert env["APPROVAL_URL"] == "http://triage-approval:8080"
    assert rendered.get("Service", "triage-approval")["spec"]["ports"][0]["port"] == 8080
    # Without the approval service the edge explains that buttons are off, nothing dangles.
    without = await render({"approval": {"enabled": False}})
    env = {e["name"] for e in pod(without.get("Deployment", "triage-ingress"))
           ["containers"][0]["env"]}
    assert not {"APPROVAL_URL", "SERVICE_TOKEN"} & env


async def test_oauth_gives_the_vault_keys_to_the_ingress_pods_only(render) -> None:
    """The install flow: the edge saves installations (client secret, stores, vault keys),
    the notifier reads them (stores, vault keys, no client secret); nobody else gets the
    vault keys, and only these two reach PostgreSQL besides audit and approval."""
    rendered = await render(load_values("oauth"))
    refs = {component(d): {k: v for k, v in secret_refs(d).items() if k != "NATS_PASSWORD"}
            for d in rendered.of_kind("Deployment")}
    stores = {"DATABASE_URL": ("triage-database", "ingress-url"),
              "VAULT_MASTER_KEYS": ("triage-vault", "master-keys")}
    assert refs["ingress"] == {"SLACK_SIGNING_SECRET": ("triage-slack", "signing-secret"),
                               "SERVICE_TOKEN": ("triage-approval", "service-token"),
                               "SLACK_CLIENT_SECRET": ("triage-slack", "client-secret"),
                               **stores}
    assert refs["notifier"] == {"SLACK_BOT_TOKEN": ("triage-slack", "bot-token"), **stores}
    assert [c for c, r in refs.items() if "VAULT_MASTER_KEYS" in r] == ["ingress", "notifier"]
    env = {e["name"]: e for e in pod(rendered.get("Deployment", "triage-ingress"))
           ["containers"][0]["env"]}
    assert env["SLACK_CLIENT_ID"]["value"] == "1234567890.1234567890"
    assert env["SLACK_REDIRECT_URI"]["value"] == "https://triage.example.com/slack/oauth_redirect"
    # Installed teams bring their own token: the default one may be absent from the Secret.
    notifier_env = {e["name"]: e for e in pod(rendered.get("Deployment", "triage-notifier"))
                    ["containers"][0]["env"]}
    assert notifier_env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    postgres = load_egress_classes()["postgres"]
    reach = {policy["metadata"]["name"].removeprefix("triage-")
             for policy in rendered.of_kind("NetworkPolicy")
             if any(r.get("to") == postgres["to"] and r["ports"] == postgres["ports"]
                    for r in policy["spec"].get("egress", []))}
    # A workspace's notifier reads its team's installation as the shared one does; a
    # workspace's audit worker writes its team's own database.
    assert reach == {"ingress", "notifier", "audit", "approval", "workspace-notifier",
                     "workspace-audit"}


def ingress_peers(policy: dict[str, Any]) -> list[Any]:
    return [rule.get("from", "ANYONE") for rule in policy["spec"]["ingress"]]


async def test_only_slack_endpoints_and_approval_ui_are_reachable(render) -> None:
    values = load_values("defaults")
    rendered = await render(values)
    policies = {p["metadata"]["name"]: p for p in rendered.of_kind("NetworkPolicy")}
    deny = policies.pop("triage-default-deny")["spec"]
    assert deny["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "triage",
                                                  "app.kubernetes.io/instance": "triage"}
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    monitoring = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    ingress_controller = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}]
    edge_pods = [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "triage", "app.kubernetes.io/instance": "triage",
        "app.kubernetes.io/component": "ingress"}}}]
    # The `helm test` pod reaches every component's port 8080, and nothing else does.
    test_pod = [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "triage", "app.kubernetes.io/instance": "triage",
        "app.kubernetes.io/component": "tests"}}}]
    # Plus the provisioning Job's (DNS and NATS only) and the `helm test` pod's.
    assert {component(p) for p in policies.values()} == WORKERS | {"provisioner", "tests"}
    # The operator's per-workspace workers are covered too, selected by its labels and the
    # release (test_chart_workspaces.py checks they match the workers the operator builds).
    for worker in ("orchestrator", "tools"):
        selector = policies[f"triage-workspace-{worker}"]["spec"]["podSelector"]["matchLabels"]
        assert selector == {"app.kubernetes.io/managed-by": "triage-operator",
                            "app.kubernetes.io/component": worker,
                            "triage.dev/release": "triage"}
    for name, policy in policies.items():
        peers = ingress_peers(policy)
        if name == "triage-ingress":  # Slack calls from the internet; requests are signed
            assert peers == ["ANYONE", test_pod, monitoring]
        elif name == "triage-approval":  # the authenticating proxy's namespace, the edge
            assert peers == [ingress_controller, edge_pods, test_pod, monitoring]
        elif component(policy) in WORKERS and "workspace" not in name:
            assert peers == [test_pod, monitoring], name
        else:  # the provisioner, the operator's workers, the test pod itself
            assert peers == [monitoring], name
        metrics_port = 9090 if name == "triage-approval" else 8080
        *public, scrape = policy["spec"]["ingress"]
        for rule in public:
            assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
        assert scrape["ports"] == [{"port": metrics_port, "protocol": "TCP"}], name


async def test_egress_is_limited_to_what_each_component_calls(render) -> None:
    rendered = await render({})
    egress_values = load_egress_classes()
    allowed = {}
    for policy in rendered.of_kind("NetworkPolicy"):
        if "app.kubernetes.io/component" not in policy["metadata"]["labels"]:
            continue
        rules = policy["spec"]["egress"]
        allowed[policy["metadata"]["name"].removeprefix("triage-")] = {
            cls for cls, rule in egress_values.items() for r in rules
            if r.get("to") == rule["to"] and r["ports"] == rule["ports"]}
    assert allowed == {
        "ingress": {"dns", "nats", "externalApis"},
        "notifier": {"dns", "nats", "externalApis"},
        "orchestrator": {"dns", "nats"},
        "tools": {"dns", "nats", "externalApis", "observability"},
        "router": {"dns", "nats", "externalApis"},
        "audit": {"dns", "nats", "postgres", "externalApis"},
        "approval": {"dns", "nats", "postgres"},
        "operator": {"dns", "nats", "kubernetesApi"},
        "workspace-orchestrator": {"dns", "nats"},
        "workspace-tools": {"dns", "nats", "externalApis", "observability"},
        "workspace-router": {"dns", "nats", "externalApis"},
        "workspace-notifier": {"dns", "nats", "externalApis"},
        "workspace-audit": {"dns", "nats", "postgres", "externalApis"},
        "provisioner": {"dns", "nats"},
        "tests": {"dns", "nats"},
    }
    # Beyond those classes, the only pod-to-pod calls: the edge to approval's port 8080, and
    # the `helm test` pod to every component's.
    # A peer with a podSelector and no namespaceSelector: a pod of this namespace.
    calls = {name: [r for r in p["spec"]["egress"]
                    if any(set(peer) == {"podSelector"} for peer in r.get("to", []))]
             for p in rendered.of_kind("NetworkPolicy")
             if (name := p["metadata"]["name"]) != "triage-default-deny"}
    assert {name for name, rules in calls.items() if rules} == {"triage-ingress", "triage-tests"}
    checked = {r["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
               for r in calls["triage-tests"]}
    assert checked == WORKERS
    assert {p for r in calls["triage-tests"] for p in map(str, r["ports"])} == {
        str({"port": 8080, "protocol": "TCP"})}
    (rule,) = calls["triage-ingress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "approval"


def load_egress_classes() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((CHART / "values.yaml").read_text())["networkPolicy"]["egress"]


async def test_public_routes(render) -> None:
    rendered = await render({})
    slack = rendered.get("Ingress", "triage-ingress")["spec"]
    assert slack["ingressClassName"] == "nginx"
    (rule,) = slack["rules"]
    assert rule["host"] == "triage.example.com"
    assert rule["http"]["paths"] == [{"path": "/slack", "pathType": "Prefix", "backend": {
        "service": {"name": "triage-ingress", "port": {"name": "http"}}}}]
    # The approval UI is not exposed until it is asked for (with a login configured).
    assert [i["metadata"]["name"] for i in rendered.of_kind("Ingress")] == ["triage-ingress"]
    exposed = await render({"httpIngress": {"approval": {"enabled": True}},
                            "approval": {"auth": {"oidc": {"issuer": "https://slack.com",
                                                           "clientId": "1.2"}}}})
    approval = exposed.get("Ingress", "triage-approval")["spec"]["rules"][0]
    assert approval["http"]["paths"][0]["backend"]["service"]["name"] == "triage-approval"
    assert approval["http"]["paths"][0]["backend"]["service"]["port"] == {"name": "http"}
    assert len(exposed.of_kind("Ingress")) == 2


async def test_socket_mode_and_token_rotation_reach_only_the_pods_that_use_them(render) -> None:
    """Socket Mode: the app-level token to the edge only. Token rotation: the notifier
    refreshes expiring bot tokens, so it (and only it, besides the edge) gets the client
    secret. The install allow-list reaches the edge."""
    values = load_values("oauth")
    values["ingress"] = {**values.get("ingress", {}), "socketMode": {"enabled": True},
                         "oauth": {**values["ingress"]["oauth"], "tokenRotation": True,
                                   "allowedTeams": "T0ACME, E0ORG"}}
    rendered = await render(values)
    refs = {component(d): secret_refs(d) for d in rendered.of_kind("Deployment")}
    assert refs["ingress"]["SLACK_APP_TOKEN"] == ("triage-slack", "app-token")
    assert [c for c, r in refs.items() if "SLACK_APP_TOKEN" in r] == ["ingress"]
    assert sorted(c for c, r in refs.items() if "SLACK_CLIENT_SECRET" in r) == [
        "ingress", "notifier"]
    edge = env_of(rendered.get("Deployment", "triage-ingress"))
    assert edge["SLACK_INSTALL_TEAMS"] == "T0ACME, E0ORG"
    plain = await render(load_values("oauth"))
    assert "SLACK_CLIENT_SECRET" not in secret_refs(plain.get("Deployment", "triage-notifier"))
    assert "SLACK_APP_TOKEN" not in secret_refs(plain.get("Deployment", "triage-ingress"))


async def test_a_github_app_replaces_the_token_in_the_tools_pod_only(render) -> None:
    rendered = await render({"tools": {"githubApp": {"id": 4242, "installationId": 77}}})
    tools = rendered.get("Deployment", "triage-tools")
    assert secret_refs(tools) == {
        "NATS_PASSWORD": ("triage-nats", "tools-password"),
        "GITHUB_APP_PRIVATE_KEY": ("triage-github", "app-private-key")}
    env = env_of(tools)
    assert (env["GITHUB_APP_ID"], env["GITHUB_APP_INSTALLATION_ID"]) == ("4242", "77")
    # The key is required where the App is chosen: a missing key is a pod that will not
    # start with the reason, not a silently anonymous GitHub.
    (key,) = [e for e in pod(tools)["containers"][0]["env"]
              if e["name"] == "GITHUB_APP_PRIVATE_KEY"]
    assert "optional" not in key["valueFrom"]["secretKeyRef"]
    for deployment in rendered.of_kind("Deployment"):
        if component(deployment) != "tools":
            assert not {"GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY"} & env_names(deployment)
    with pytest.raises(Exception, match="installationId"):
        await render({"tools": {"githubApp": {"id": 4242}}})
