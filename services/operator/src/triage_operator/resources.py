"""Pure builders of the manifests the operator owns for one Workspace.

No I/O here, so every manifest can be unit-tested and validated against the Kubernetes
schemas offline. The operator applies whatever these return; a change here is a change of
what runs in the cluster.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .settings import Settings
from .spec import WorkspaceSpec

GROUP = "triage.dev"
VERSION = "v1alpha1"
PLURAL = "workspaces"
KIND = "Workspace"
COMPONENTS = ("orchestrator", "tools", "router", "notifier")
# Run only for a Workspace with its own database (`secretRefs.database`): the team's own
# audit log. Every component a Workspace may run, for cleanup: `ALL_COMPONENTS`.
ALL_COMPONENTS = (*COMPONENTS, "audit")
# The image each worker runs: the notifier is the ingress image in its notifier role.
_IMAGE_OF = {"notifier": "ingress"}
MANAGED_BY = "triage-operator"
WORKSPACE_LABEL = f"{GROUP}/workspace"
RELEASE_LABEL = f"{GROUP}/release"
HASH_ANNOTATION = f"{GROUP}/config-hash"
HTTP_PORT = 8080
# A numeric non-root user, so the kubelet can enforce runAsNonRoot (the images use 10001).
RUN_AS_USER = 10001

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Owner:
    """The Workspace that owns the objects (for owner references and names)."""

    name: str
    namespace: str
    uid: str
    # The Helm release whose operator made the objects (its NetworkPolicies select on it).
    release: str | None = None


def configmap_name(workspace: str) -> str:
    return f"triage-ws-{workspace}"


def deployment_name(workspace: str, component: str) -> str:
    return f"triage-ws-{workspace}-{component}"


def labels(owner: Owner, component: str | None = None) -> dict[str, str]:
    result = {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": "triage",
        "app.kubernetes.io/instance": configmap_name(owner.name),
        WORKSPACE_LABEL: owner.name,
    }
    if owner.release:
        result[RELEASE_LABEL] = owner.release
    if component:
        result |= {"app.kubernetes.io/name": f"triage-{component}",
                   "app.kubernetes.io/component": component}
    return result


def owner_reference(owner: Owner) -> Manifest:
    """Lets Kubernetes garbage-collect the objects if the operator is gone at deletion."""
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "name": owner.name,
            "uid": owner.uid, "controller": True, "blockOwnerDeletion": True}


def _metadata(owner: Owner, name: str, component: str | None = None) -> Manifest:
    return {"name": name, "namespace": owner.namespace, "labels": labels(owner, component),
            "ownerReferences": [owner_reference(owner)]}


def config_data(spec: WorkspaceSpec) -> dict[str, str]:
    """The workspace config as ConfigMap keys the workers read as env vars (`_CONFIG_ENV`),
    and nothing else: approvers, model routes and the budget reach the shared services
    through the workspace directory (`directory.py`), so a copy here would be unread and
    would roll the workers on every change of them."""
    return {
        "channels": ",".join(spec.channels),
        "tools": ",".join(spec.tools),
        "skills": ",".join(spec.skills),
        "github-repos": ",".join(spec.github_repos),
    }


def configmap(owner: Owner, spec: WorkspaceSpec) -> Manifest:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(owner, configmap_name(owner.name)), "data": config_data(spec)}


def nats_url(spec: WorkspaceSpec, settings: Settings) -> str:
    return spec.nats_url or settings.nats_url


def image(spec: WorkspaceSpec, settings: Settings, component: str) -> str:
    """spec.image, else the component's own image, else WORKER_IMAGE."""
    own = {"orchestrator": settings.worker_image_orchestrator,
           "tools": settings.worker_image_tools,
           "router": settings.worker_image_router,
           "notifier": settings.worker_image_notifier,
           "audit": settings.worker_image_audit}[component]
    return (spec.image or own or settings.worker_image).replace(
        "{component}", _IMAGE_OF.get(component, component))


WORKFLOW_DIR = "/etc/triage/workflow"
SKILLS_DIR = "/etc/triage/skills"
ROUTES_DIR = "/etc/triage/routes"
# The chart's files mounted like the shared workers' (ConfigMap, mount path, env var).
_MOUNTED = {"orchestrator": (("worker_workflow_config_map", "workflow", WORKFLOW_DIR),
                             ("worker_skills_config_map", "skills", SKILLS_DIR)),
            "router": (("worker_routes_config_map", "routes", ROUTES_DIR),)}


def _mounts(settings: Settings, component: str) -> list[tuple[str, str, str]]:
    """(ConfigMap, volume name, path) of the chart's files this worker reads."""
    found = [(getattr(settings, field), volume, path)
             for field, volume, path in _MOUNTED.get(component, ())]
    return [(name, volume, path) for name, volume, path in found if name]


def _parity(settings: Settings, component: str) -> list[Manifest]:
    """What the shared workers get from the chart and the per-workspace ones need too."""
    values: dict[str, str | None] = {"LOG_LEVEL": settings.worker_log_level or settings.log_level}
    if component == "orchestrator":
        values |= {"APPROVAL_PUBLIC_URL": settings.worker_approval_public_url}
        if settings.worker_workflow_config_map:
            values["WORKFLOW_FILE"] = f"{WORKFLOW_DIR}/workflow.yaml"
        if settings.worker_skills_config_map:
            values["SKILLS_DIR"] = SKILLS_DIR
    elif component == "notifier":
        values |= {"ROLE": "notifier", "SLACK_API_URL": settings.worker_slack_api_url}
    elif component == "router":
        values |= {"OPENAI_BASE_URL": settings.worker_openai_base_url,
                   "DAILY_BUDGET_USD": settings.worker_daily_budget_usd}
        if settings.worker_routes_config_map:
            values["ROUTES_FILE"] = f"{ROUTES_DIR}/routes.yaml"
    elif component == "tools":
        values |= {"GITHUB_API_URL": settings.worker_github_api_url,
                   "PROMETHEUS_URL": settings.worker_prometheus_url,
                   "ALERTMANAGER_URL": settings.worker_alertmanager_url,
                   "SHARED_READ_TTL_S": settings.worker_shared_read_ttl_s}
    return [{"name": name, "value": value} for name, value in values.items() if value]


# Which workspace config keys each worker reads through its settings (env var ← key).
_CONFIG_ENV = {
    "orchestrator": {"GITHUB_REPOS": "github-repos", "ALLOWED_CHANNELS": "channels",
                     "ALLOWED_TOOLS": "tools", "SKILLS": "skills"},
    "tools": {"GITHUB_REPOS": "github-repos", "ENABLED_TOOLS": "tools"},
    "router": {},  # routes and budget come from the workspace directory (directory.py)
    "notifier": {},  # it posts what it is sent, to the channel it is sent to
    "audit": {},  # it chains every audit event of its team
}
# Least privilege: a worker only gets the workspace Secrets it talks to.
_SECRETS = {"orchestrator": (), "tools": ("github",), "router": ("openai",),
            "notifier": ("slack",), "audit": ("database",)}
# Who verifies approval grants (the router never sees one).
_GRANT_CHECKERS = ("orchestrator", "tools")


def own_audit(spec: WorkspaceSpec) -> bool:
    """Whether the team's audit log is also kept in its own database (secretRefs.database)."""
    return spec.secret_refs.database is not None


def components(spec: WorkspaceSpec) -> tuple[str, ...]:
    """The workers this Workspace runs: an audit worker only with its own database."""
    return ALL_COMPONENTS if own_audit(spec) else COMPONENTS


def _env(owner: Owner, spec: WorkspaceSpec, settings: Settings, component: str) -> list[Manifest]:
    env: list[Manifest] = [
        {"name": "TEAM_SCOPE", "value": spec.team_id},
        {"name": "NATS_URL", "value": nats_url(spec, settings)},
        {"name": "HOST", "value": "0.0.0.0"},
        {"name": "PORT", "value": str(HTTP_PORT)},
        {"name": "LOG_JSON", "value": "true"},
        {"name": "ENVIRONMENT", "value": settings.environment},
        *_parity(settings, component),
    ]
    for var, key in _CONFIG_ENV[component].items():
        ref = {"name": configmap_name(owner.name), "key": key}
        env.append({"name": var, "valueFrom": {"configMapKeyRef": ref}})
    if settings.worker_grant_keys_config_map and component in _GRANT_CHECKERS:
        ref = {"name": settings.worker_grant_keys_config_map, "key": "GRANT_PUBLIC_KEYS"}
        env.append({"name": "GRANT_PUBLIC_KEYS", "valueFrom": {"configMapKeyRef": ref}})
    return env + _release_model_key(spec, settings, component) + \
        _release_slack(spec, settings, component) + _release_audit(spec, settings, component) \
        + _nats_credentials(settings, component)


def _release_model_key(spec: WorkspaceSpec, settings: Settings, component: str
                       ) -> list[Manifest]:
    """The release's model key (the chart's secrets.openai) for a router whose Workspace
    names no `secretRefs.openai`, so a team without its own key still reaches the model.
    Never beside the Workspace's own Secret: `env` wins over `envFrom`, and would replace
    the team's key with the release's."""
    if component != "router" or spec.secret_refs.openai or not settings.worker_openai_secret:
        return []
    # Optional like the shared router's: no key means offline routes only.
    return [_secret_env("OPENAI_API_KEY", settings.worker_openai_secret,
                        settings.worker_openai_secret_key, optional=True)]


def _secret_env(var: str, secret: str, key: str, optional: bool = False) -> Manifest:
    """An env var read from one key of a Secret (by name only: the operator never reads it)."""
    ref: Manifest = {"name": secret, "key": key} | ({"optional": True} if optional else {})
    return {"name": var, "valueFrom": {"secretKeyRef": ref}}


def _release_slack(spec: WorkspaceSpec, settings: Settings, component: str) -> list[Manifest]:
    """How a notifier whose Workspace names no `secretRefs.slack` reaches Slack: as the
    release's notifier does. With the OAuth install flow, the team's own installation
    (SLACK_CLIENT_ID, the install store on PostgreSQL and the vault keys that open its
    tokens); else the release's bot token. Never beside the Workspace's own Secret (`env`
    wins over `envFrom`)."""
    if component != "notifier" or spec.secret_refs.slack:
        return []
    oauth = settings.worker_slack_client_id
    env: list[Manifest] = []
    if settings.worker_slack_secret:  # with OAuth, for a team not installed (optional)
        env.append(_secret_env("SLACK_BOT_TOKEN", settings.worker_slack_secret,
                               settings.worker_slack_bot_token_key, optional=bool(oauth)))
    if not oauth:
        return env
    refs = (("DATABASE_URL", settings.worker_slack_database_secret,
             settings.worker_slack_database_key),
            ("VAULT_MASTER_KEYS", settings.worker_vault_secret, settings.worker_vault_key),
            ("SLACK_CLIENT_SECRET", settings.worker_slack_secret,
             settings.worker_slack_client_secret_key))
    return [{"name": "SLACK_CLIENT_ID", "value": oauth}, *env,
            *(_secret_env(var, name, key) for var, name, key in refs if name and key)]


def _release_audit(spec: WorkspaceSpec, settings: Settings, component: str) -> list[Manifest]:
    """How the team's audit worker anchors its chain: the release's checkpoint key and
    write-once sinks, each sink under `workspaces/<teamId>` so its batches never take a name
    the shared audit's (or another team's) already holds. DATABASE_URL and AUDIT_API_TOKEN
    come from the Workspace's own Secret (`envFrom`)."""
    if component != "audit":
        return []
    env: list[Manifest] = [{"name": "AUDIT_ANCHOR_SINKS", "value": workspace_sinks(
        settings.worker_audit_anchor_sinks, spec.team_id)}]
    if settings.worker_audit_secret:
        env.append(_secret_env("AUDIT_CHECKPOINT_KEY", settings.worker_audit_secret,
                               settings.worker_audit_checkpoint_key_key))
    return env


def workspace_sinks(sinks: str, team: str) -> str:
    """The sinks (AUDIT_ANCHOR_SINKS: file:// or s3:// URLs) with `workspaces/<team>` added
    to each path; the query (endpoint, lock mode) is kept."""
    urls = [urlsplit(url) for url in re.split(r"[\s,]+", sinks.strip()) if url]
    return ",".join(urlunsplit(url._replace(path=f"{url.path.rstrip('/')}/workspaces/{team}"))
                    for url in urls)


def _nats_credentials(settings: Settings, component: str) -> list[Manifest]:
    """The worker's own NATS identity (the component's name) and its password."""
    if not settings.worker_nats_secret:
        return []
    return [{"name": "NATS_USER", "value": component},
            _secret_env("NATS_PASSWORD", settings.worker_nats_secret, f"{component}-password")]


def _env_from(spec: WorkspaceSpec, settings: Settings, component: str) -> list[Manifest]:
    refs = [getattr(spec.secret_refs, kind) for kind in _SECRETS[component]]
    names = [settings.worker_env_secret, *refs]
    return [{"secretRef": {"name": name}} for name in names if name]


def _resources(spec: WorkspaceSpec) -> Manifest:
    res = spec.workers.resources
    return {"requests": res.requests.model_dump(exclude_none=True),
            "limits": res.limits.model_dump(exclude_none=True)}


def _probe(path: str, period: int) -> Manifest:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
            "timeoutSeconds": 3, "failureThreshold": 3}


def container(owner: Owner, spec: WorkspaceSpec, settings: Settings, component: str) -> Manifest:
    return {
        "name": component,
        "image": image(spec, settings, component),
        "imagePullPolicy": settings.worker_image_pull_policy,
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": _env(owner, spec, settings, component),
        "envFrom": _env_from(spec, settings, component),
        "resources": _resources(spec),
        "livenessProbe": _probe("/healthz", 20),
        "readinessProbe": _probe("/readyz", 10),
        "securityContext": {
            "runAsNonRoot": True, "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         *({"name": volume, "mountPath": path, "readOnly": True}
                           for _, volume, path in _mounts(settings, component))],
    }


def pod_spec(owner: Owner, spec: WorkspaceSpec, settings: Settings, component: str) -> Manifest:
    pod: Manifest = {
        "automountServiceAccountToken": False,  # workers never talk to the Kubernetes API
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_USER,
                            "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container(owner, spec, settings, component)],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    *({"name": volume, "configMap": {"name": name}}
                      for name, volume, _ in _mounts(settings, component))],
    }
    if settings.worker_image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in settings.worker_image_pull_secrets]
    return pod


def template_hash(pod: Manifest, config: dict[str, str]) -> str:
    """Changes whenever the pod or its config changes (not on a replica change), so a new
    value in the pod template makes the Deployment roll its pods."""
    canonical = json.dumps({"pod": pod, "config": config}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def deployment(owner: Owner, spec: WorkspaceSpec, settings: Settings, component: str) -> Manifest:
    selector = {WORKSPACE_LABEL: owner.name, "app.kubernetes.io/component": component}
    pod = pod_spec(owner, spec, settings, component)
    annotations = {HASH_ANNOTATION: template_hash(pod, config_data(spec))}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _metadata(owner, deployment_name(owner.name, component), component),
        "spec": {
            "replicas": spec.workers.replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": labels(owner, component),
                                      "annotations": annotations},
                         "spec": pod},
        },
    }


def deployments(owner: Owner, spec: WorkspaceSpec, settings: Settings) -> list[Manifest]:
    return [deployment(owner, spec, settings, component) for component in components(spec)]
