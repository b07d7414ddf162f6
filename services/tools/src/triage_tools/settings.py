"""Settings of the tools service: where GitHub and Prometheus are, which repositories the
agent may touch. Built once in `main` and passed down; secrets stay `SecretStr`."""

from typing import Annotated, Any, ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode
from triage_contracts.settings import ServiceSettings


class Settings(ServiceSettings):
    uses_approval_key: ClassVar[bool] = True
    github_token: SecretStr | None = Field(None, description="GitHub token (None: anonymous)")
    github_api_url: str = Field(
        "https://api.github.com", description="GitHub Enterprise Server: https://HOST/api/v3")
    # The allow-list: tools refuse any repository not named here (comma-separated).
    github_repos: Annotated[list[str], NoDecode] = Field(default_factory=list)
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    tool_timeout_s: float = Field(20.0, gt=0)
    grant_max_age_s: float = Field(3600.0, gt=0, description="Oldest approval a write accepts")

    @field_validator("github_repos", mode="before")
    @classmethod
    def _split_repos(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [r.strip() for r in value.split(",") if r.strip()]
        return value

    @field_validator("github_token", "prometheus_url", "alertmanager_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # A deployment template often renders an unset variable as "": treat it as unset.
        return None if value == "" else value
