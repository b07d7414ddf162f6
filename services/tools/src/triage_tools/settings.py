"""Settings of the tools service: where GitHub and Prometheus are, which repositories the
agent may touch, which `service` label each repository's metrics carry, how much output a
prompt takes. Built once in `main` and passed down; secrets stay `SecretStr`."""

import re
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode
from triage_contracts.settings import GrantVerifierSettings

# A Prometheus label value the model can put in a matcher without quoting trouble.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class Settings(GrantVerifierSettings):
    nats_identity: ClassVar[str] = "tools"
    github_token: SecretStr | None = Field(None, description="GitHub token (None: anonymous)")
    # A GitHub App installation instead of a token (higher quota, repository-scoped tokens
    # that expire within the hour): all three, and no GITHUB_TOKEN. The key is the App's
    # PEM private key (GitHub's "Generate a private key").
    github_app_id: int | None = Field(None, gt=0)
    github_app_installation_id: int | None = Field(None, gt=0)
    github_app_private_key: SecretStr | None = None
    github_api_url: str = Field(
        "https://api.github.com", description="GitHub Enterprise Server: https://HOST/api/v3")
    # The login the token writes as (a GitHub App: `NAME[bot]`); unset: asked of GET /user.
    # Only comments by this login count as the bot's own (the duplicate-write marker).
    github_bot_login: str | None = Field(None, min_length=1, max_length=100)
    # The allow-list: tools refuse any repository not named here (comma-separated).
    github_repos: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # `owner/name=label,...`: the `service` label of each repository's metrics (default: the
    # repository's name). The orchestrator gives it to the model with the repositories.
    service_labels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    tool_timeout_s: float = Field(20.0, gt=0)
    # How long an answer to a read is reused by identical reads of the same team and
    # credential. 0 (the default): only reads in flight are shared, and every later read
    # revalidates with its ETag (a 304 costs no quota but a round trip), so a change upstream
    # shows at once. A few seconds saves those round trips during a burst, at the price of
    # answers up to that old.
    shared_read_ttl_s: float = Field(0.0, ge=0, le=60)
    # A tool output whose JSON is longer is cut; the whole is kept for `output.page`.
    tool_output_chars: int = Field(12_000, ge=1_000, le=200_000)
    # The workspace's tool allow-list (the Workspace resource's `tools`); empty: every tool.
    enabled_tools: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("enabled_tools", mode="before")
    @classmethod
    def _split_tools(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value

    @field_validator("github_repos", mode="before")
    @classmethod
    def _split_repos(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [r.strip() for r in value.split(",") if r.strip()]
        return value

    @field_validator("service_labels", mode="before")
    @classmethod
    def _split_labels(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs = [p.strip() for p in value.split(",") if p.strip()]
        bad = [p for p in pairs if p.count("=") != 1]
        if bad:
            raise ValueError(f"expected owner/name=label pairs, got {bad}")
        return dict((k.strip(), v.strip()) for k, v in (p.split("=") for p in pairs))

    @field_validator("github_token", "github_bot_login", "prometheus_url", "alertmanager_url",
                     "github_app_id", "github_app_installation_id", "github_app_private_key",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # A deployment template often renders an unset variable as "": treat it as unset.
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_github_identity(self) -> Self:
        app = {"GITHUB_APP_ID": self.github_app_id,
               "GITHUB_APP_INSTALLATION_ID": self.github_app_installation_id,
               "GITHUB_APP_PRIVATE_KEY": self.github_app_private_key}
        given = [name for name, value in app.items() if value is not None]
        if given and len(given) < len(app):
            missing = [name for name in app if name not in given]
            raise ValueError(f"a GitHub App needs {', '.join(missing)} too "
                             f"(given: {', '.join(given)})")
        if given and self.github_token is not None:
            raise ValueError("set either GITHUB_TOKEN or the GitHub App settings "
                             "(GITHUB_APP_ID, ...), not both")
        key = self.github_app_private_key
        if key is not None and "PRIVATE KEY-----" not in key.get_secret_value():
            raise ValueError("GITHUB_APP_PRIVATE_KEY must be the App's PEM private key "
                             "(-----BEGIN RSA PRIVATE KEY----- ...)")
        return self

    @model_validator(mode="after")
    def _labels_name_allowed_repos(self) -> Self:
        allowed = {r.lower() for r in self.github_repos}
        problems = [f"{repo}: not in GITHUB_REPOS" for repo in self.service_labels
                    if repo.lower() not in allowed]
        problems += [f"{repo}: {label!r} is not a plain label value ([A-Za-z0-9_.:-])"
                     for repo, label in self.service_labels.items()
                     if not _LABEL_VALUE.match(label)]
        if problems:
            raise ValueError("SERVICE_LABELS: " + "; ".join(problems))
        return self

    def labels_by_repo(self) -> dict[str, str]:
        """Every allowed repository's `service` label: the one set, else its name."""
        given = {repo.lower(): label for repo, label in self.service_labels.items()}
        return {repo: given.get(repo.lower(), repo.split("/", 1)[1])
                for repo in self.github_repos}
