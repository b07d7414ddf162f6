"""Operator settings (env vars, upper-case field names), built once in `main`.

Everything a worker Deployment needs that is not in the Workspace spec comes from here:
the image, the default NATS URL, the shared Secret with cluster-wide keys, the ConfigMap of
public grant keys.
"""

import socket
from typing import Annotated, ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode
from triage_contracts.settings import ServiceSettings


class Settings(ServiceSettings):
    nats_identity: ClassVar[str] = "operator"
    operator_namespace: str = Field("default", description="The one namespace watched and managed")
    # `{component}` is replaced by `orchestrator`, `tools` or `router` (one image per service).
    worker_image: str = Field(
        "ghcr.io/triage-agent/triage-{component}:0.1.0",
        description="Worker image; `{component}` becomes orchestrator|tools|router|ingress",
    )
    worker_image_pull_policy: str = "IfNotPresent"
    # Per-component images (the chart's orchestrator/tools/router.image): they win over
    # WORKER_IMAGE; a Workspace's spec.image wins over both.
    worker_image_orchestrator: str | None = Field(None, description="Orchestrator worker image")
    worker_image_tools: str | None = Field(None, description="Tools worker image")
    worker_image_router: str | None = Field(None, description="Router worker image")
    worker_image_notifier: str | None = Field(
        None, description="Notifier worker image (the ingress image; else WORKER_IMAGE with "
                          "`{component}` as `ingress`)")
    worker_image_audit: str | None = Field(
        None, description="Audit worker image (a Workspace with its own database)")
    # Comma-separated Secret names, as the shared pods' imagePullSecrets.
    worker_image_pull_secrets: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="imagePullSecrets of the workers (comma list)")
    # The Helm release: a label on the workers, which the release's NetworkPolicies select.
    worker_release: str | None = Field(None, description="Release label of the workers")
    # Parity with the shared workers (the chart passes the values they get).
    worker_log_level: str | None = Field(None, description="Workers' LOG_LEVEL (default: ours)")
    worker_approval_public_url: str | None = Field(
        None, description="APPROVAL_PUBLIC_URL: links to the approval UI in Slack messages")
    worker_workflow_config_map: str | None = Field(
        None, description="ConfigMap with workflow.yaml, mounted as WORKFLOW_FILE")
    worker_skills_config_map: str | None = Field(
        None, description="ConfigMap of *.SKILL.md files, mounted as SKILLS_DIR")
    worker_github_api_url: str | None = Field(None, description="Tools' GITHUB_API_URL")
    worker_prometheus_url: str | None = Field(None, description="Tools' PROMETHEUS_URL")
    worker_alertmanager_url: str | None = Field(None, description="Tools' ALERTMANAGER_URL")
    worker_shared_read_ttl_s: str | None = Field(None, description="Tools' SHARED_READ_TTL_S")
    worker_routes_config_map: str | None = Field(
        None, description="ConfigMap with routes.yaml, mounted as the router's ROUTES_FILE")
    worker_openai_base_url: str | None = Field(None, description="Router's OPENAI_BASE_URL")
    worker_daily_budget_usd: str | None = Field(
        None, description="Router's DAILY_BUDGET_USD (a Workspace's budgetUsdPerDay wins)")
    # The release's model key (secretKeyRef, optional), for a Workspace without its own
    # secretRefs.openai; the Workspace's Secret replaces it (envFrom, router only).
    worker_openai_secret: str | None = Field(
        None, description="Secret with the release's model API key (OPENAI_API_KEY)")
    worker_openai_secret_key: str = Field(
        "api-key", description="Key of the model API key in WORKER_OPENAI_SECRET")
    # The notifier's Slack (the chart's notifier settings), and how a Workspace without its
    # own secretRefs.slack reaches Slack: the release's bot token (secretKeyRef), or with
    # the OAuth install flow the team's installation (client id, install store DSN, vault).
    worker_slack_api_url: str | None = Field(None, description="Notifier's SLACK_API_URL")
    worker_slack_secret: str | None = Field(
        None, description="Secret with the release's bot token (SLACK_BOT_TOKEN)")
    worker_slack_bot_token_key: str = Field(
        "bot-token", description="Key of the bot token in WORKER_SLACK_SECRET")
    worker_slack_client_id: str | None = Field(
        None, description="SLACK_CLIENT_ID of the OAuth install flow (per-team tokens)")
    worker_slack_database_secret: str | None = Field(
        None, description="Secret with the install store's DSN (OAuth)")
    worker_slack_database_key: str = Field(
        "ingress-url", description="Key of the install store's DSN")
    worker_vault_secret: str | None = Field(
        None, description="Secret with the vault master keys that open installed tokens")
    worker_vault_key: str = Field("master-keys", description="Key of the vault master keys")
    # Set only with Slack token rotation: the notifier refreshes expiring bot tokens.
    worker_slack_client_secret_key: str | None = Field(
        None, description="Key of the app's client secret in WORKER_SLACK_SECRET (rotation)")
    # The audit worker of a Workspace with its own database (secretRefs.database) signs its
    # checkpoints with the release's key and anchors them in the release's write-once sinks,
    # under `workspaces/<teamId>` (the batches of two chains never share a name).
    worker_audit_secret: str | None = Field(
        None, description="Secret with the release's audit checkpoint key")
    worker_audit_checkpoint_key_key: str = Field(
        "checkpoint-key", description="Key of the checkpoint key in WORKER_AUDIT_SECRET")
    worker_audit_anchor_sinks: str = Field(
        "", description="The release's AUDIT_ANCHOR_SINKS (each gets workspaces/<teamId>)")
    # A Secret with the keys every worker needs whatever the workspace (VAULT_MASTER_KEY).
    worker_env_secret: str | None = Field(None, description="Secret mounted via envFrom in workers")
    # A Secret with a `<component>-password` key per worker (the chart's NATS credentials):
    # each worker connects to NATS as its own identity (docs/security-nats.md).
    worker_nats_secret: str | None = Field(None, description="Secret with workers' NATS passwords")
    # The ConfigMap whose GRANT_PUBLIC_KEYS every worker verifies approval grants with
    # (public keys only: no worker can sign a grant).
    worker_grant_keys_config_map: str | None = Field(
        None, description="ConfigMap holding GRANT_PUBLIC_KEYS for the workers")
    # Leader election (leader.py): with it, replicas stand by until they hold the lease.
    leader_election: bool = Field(
        False, description="Act only while holding the lease (for more than one replica)")
    leader_identity: str = Field(
        default_factory=socket.gethostname, description="This replica's name in the lease "
        "(default: the host name, which is the pod's name)")
    lease_s: float = Field(15.0, gt=0, description="A standby takes over a lease not "
                                                   "renewed for this long")
    lease_renew_s: float = Field(5.0, gt=0, description="How often the leader renews")
    lease_renew_deadline_s: float = Field(
        10.0, gt=0, description="The leader stops acting when it could not renew for this "
        "long (less than LEASE_S, so it has stopped before anyone takes over)")
    port: int = Field(8080, description="Health listener (/healthz, /readyz)")
    # kopf's own liveness server listens here on loopback; /healthz on PORT relays to it.
    liveness_port: int = Field(8081, description="Loopback port of kopf's liveness endpoint")
    nats_connect_timeout_s: float = Field(2.0, gt=0)
    # Temporary failures (NATS or the API down) are retried with exponential backoff.
    retry_delay_s: float = Field(5.0, gt=0)
    retry_max_delay_s: float = Field(300.0, gt=0)
    # Periodic re-reconcile of every Workspace (drift repair); 0 disables it.
    resync_interval_s: float = Field(300.0, ge=0)
    @model_validator(mode="after")
    def _lease_order(self) -> "Settings":
        if not self.lease_renew_s < self.lease_renew_deadline_s < self.lease_s:
            raise ValueError("LEASE_RENEW_S < LEASE_RENEW_DEADLINE_S < LEASE_S is required: "
                             "a leader must stop before a standby may take over")
        return self

    @field_validator("worker_image_pull_secrets", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) \
            else value

    # How long kopf waits for its own patch to come back through the watch stream.
    consistency_timeout_s: float = Field(5.0, ge=0)
