"""Ingress settings, from the environment (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, ROLE,
APPROVAL_URL, SERVICE_TOKEN, SLACK_CLIENT_ID/SECRET for the OAuth install flow,
VAULT_MASTER_KEYS for the installed tokens...).

One image runs as the HTTP edge, the notifier, or both; the role decides which secrets
are required, and production refuses to start without them. With OAuth, production also
wants the stores on PostgreSQL (SQLite would lose installs with the pod, and replicas would
not share them) and a real vault master key."""

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError
from triage_contracts.settings import ServiceSettings, is_real_secret

from .vault import DEV_KEY_ID, MasterKeys, Vault

DEFAULT_SCOPES = ("app_mentions:read,chat:write,commands,im:history,channels:history,"
                  "assistant:write,files:write")


class Role(StrEnum):
    ALL = "all"
    EDGE = "edge"
    NOTIFIER = "notifier"


class Settings(ServiceSettings):
    slack_signing_secret: SecretStr | None = Field(None, description="Slack app signing secret")
    slack_app_token: SecretStr | None = Field(
        None, description="app-level token (xapp-…): receive Slack over Socket Mode too")
    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-...)")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    slack_channel_rate: float = Field(
        1.0, ge=0, description="posts per second per channel the notifier allows itself "
                               "(Slack's limit is about 1; 0 turns pacing off)")
    slack_channel_burst: int = Field(2, ge=1, description="posts at once before pacing")
    slack_response_url_prefix: str = Field(
        "https://hooks.slack.com/",
        description="the notifier answers a slash command through its response_url only "
                    "under this prefix (Enterprise Grid proxies change it)")
    max_body_bytes: int = Field(1024 * 1024, ge=1, description="Largest accepted request body")
    # slack-sdk's verifier also enforces its own 5 minutes: this setting can only tighten it.
    signature_tolerance_s: int = Field(300, ge=1, le=300)
    # Slack gives up after 3 s; answering 503 before that makes it retry instead of guessing.
    publish_timeout_s: float = Field(2.0, gt=0, le=10)
    slack_timeout_s: int = Field(10, ge=1, description="Timeout of one Slack Web API call")
    # "Queued behind N questions" in the asking thread when at least this many requests
    # wait for (or are being started by) the orchestrator ahead of a new one; 0 = never.
    queued_notice_threshold: int = Field(
        3, ge=0, description="Questions ahead before the asker is told it is queued (0: off)")
    # A redelivered notify command waits while another attempt's claim is younger than
    # this; it must outlast the slowest post (3 tries of slack_timeout_s plus Retry-After).
    notify_claim_stale_s: float = Field(120.0, gt=0)
    role: Role = Role.ALL
    # Slack approval buttons are decided by the approval service, called with SERVICE_TOKEN
    # so that it trusts the approver id of the person who clicked.
    approval_url: str | None = Field(None, description="Approval service base URL")
    service_token: SecretStr | None = Field(None, description="Bearer token for approval")
    # A modal submission must be answered within Slack's 3 s: the approval call gets less.
    approval_timeout_s: float = Field(2.0, gt=0, le=2.8)
    # OAuth v2 install flow (many workspaces): each installed team gets its own bot token,
    # kept in slack-sdk's installation store on DATABASE_URL.
    slack_client_id: str | None = Field(None, description="Slack app client id")
    slack_client_secret: SecretStr | None = Field(None, description="Slack app client secret")
    slack_scopes: str = Field(DEFAULT_SCOPES, description="Bot scopes asked at install")
    slack_install_teams: str = Field(
        "", description="comma-separated team or enterprise ids that may install the app "
                        "(empty: any workspace that completes Slack's consent)")
    slack_oauth_url: str = Field("https://slack.com/oauth/v2/authorize",
                                 description="Slack's authorize page (the sandbox's in dev)")
    # Behind a proxy the request's own URL is not what Slack knows: set it explicitly there.
    slack_redirect_uri: str | None = Field(None, description="Public URL of /slack/oauth_redirect")
    database_url: str = Field("sqlite:///./.triage/ingress.db",
                              description="OAuth state and installation stores")
    # The connector vault: `id:base64key,...`, the first key active (seals), the others
    # only open (rotation). Unset in development: a built-in development key.
    vault_master_keys: SecretStr | None = Field(None, description="Connector vault master keys")

    @field_validator("vault_master_keys")
    @classmethod
    def _parse_master_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            MasterKeys.parse(value)  # a bad entry is refused now, naming its key id only
        return value

    # One NATS identity per role: the notifier alone consumes notify work (permissions.py).
    NATS_IDENTITIES: ClassVar[dict[Role, str]] = {
        Role.ALL: "ingress-all", Role.EDGE: "ingress", Role.NOTIFIER: "notifier"}

    def nats_identity_name(self) -> str:
        return self.NATS_IDENTITIES[self.role]

    @property
    def serves_edge(self) -> bool:
        return self.role in (Role.ALL, Role.EDGE)

    @property
    def serves_notifier(self) -> bool:
        return self.role in (Role.ALL, Role.NOTIFIER)

    @property
    def oauth_enabled(self) -> bool:
        """Many workspaces (SLACK_CLIENT_ID set): per-team tokens from the installations.
        The notifier only reads them, so it needs no client secret."""
        return bool(self.slack_client_id and self.slack_client_id.strip())

    @property
    def install_flow_enabled(self) -> bool:
        """The edge serves the install flow: it exchanges codes with SLACK_CLIENT_SECRET."""
        secret = self.slack_client_secret
        return (self.oauth_enabled and self.serves_edge and secret is not None
                and bool(secret.get_secret_value().strip()))

    def vault(self) -> Vault:
        """Development reads rows stored before the vault; production refuses them."""
        secret = self.vault_master_keys
        keys = (MasterKeys.parse(secret) if secret and secret.get_secret_value().strip()
                else MasterKeys.development())
        return Vault(keys, allow_plaintext=not self.is_production())

    def install_allowed(self, team_id: str | None, enterprise_id: str | None) -> bool:
        allowed = {t.strip() for t in self.slack_install_teams.split(",") if t.strip()}
        return not allowed or bool({team_id, enterprise_id} & allowed)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.serves_edge and not (is_real_secret(self.slack_signing_secret)
                                     or is_real_secret(self.slack_app_token)):
            problems.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) "
                            "must be set")
        if self.serves_notifier and not (is_real_secret(self.slack_bot_token)
                                         or self.oauth_enabled):
            problems.append("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set")
        if self.oauth_enabled and self.serves_edge and not is_real_secret(
                self.slack_client_secret):
            problems.append("SLACK_CLIENT_SECRET must be set with SLACK_CLIENT_ID")
        if self.serves_edge and self.approval_url and not is_real_secret(self.service_token):
            problems.append("SERVICE_TOKEN must be set when APPROVAL_URL is")
        if self.oauth_enabled:
            problems += self._oauth_store_problems()
        return problems

    def _oauth_store_problems(self) -> list[str]:
        problems = []
        if not is_real_secret(self.vault_master_keys):
            problems.append("VAULT_MASTER_KEYS must be set with SLACK_CLIENT_ID "
                            "(it encrypts the installed tokens)")
        elif DEV_KEY_ID in self.vault().keys.ids:
            problems.append(f"VAULT_MASTER_KEYS must not hold the {DEV_KEY_ID!r} key")
        try:
            backend = make_url(self.database_url).get_backend_name()
        except ArgumentError:
            backend = "unparsable"
        if backend != "postgresql":
            problems.append(f"DATABASE_URL must be PostgreSQL with SLACK_CLIENT_ID, not "
                            f"{backend} (OAuth states and installations are shared by every "
                            "replica and must survive a pod)")
        return problems
