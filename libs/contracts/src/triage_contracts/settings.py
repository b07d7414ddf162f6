"""Settings base shared by every service: NATS, logging, the health/API listener, and the
production checks.

Each service subclasses it with its own fields; settings are built once in `main` and
passed down (no scattered environment reads). Production checks are the settings' own
validator: building a `Settings()` with `ENVIRONMENT=production` and a development default
(or a blank secret) fails right there, with every problem listed, before anything starts.
"""

import re
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIXES = ("dev-only", "sandbox-", "xoxb-sandbox", "changethis")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def is_real_secret(secret: SecretStr | None) -> bool:
    """Set, not blank, and not one of the development or sandbox placeholders."""
    value = secret.get_secret_value().strip() if secret is not None else ""
    return bool(value) and not value.startswith(DEV_SECRET_PREFIXES)


class ServiceSettings(BaseSettings):
    # hide_input_in_errors: a bad value must not print secrets in the start-up error.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", env_file_encoding="utf-8", hide_input_in_errors=True
    )

    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    nats_replicas: int = Field(1, ge=1, le=5, description="Stream replicas (3 in production)")
    # Only provision/consume one workspace's subjects (set by the operator per workspace).
    team_scope: str | None = Field(None, description="Restrict consumers to one Slack team")
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "INFO"
    log_json: bool = False
    environment: Environment = Field(Environment.DEVELOPMENT,
                                     description="development | production")
    # Shared HMAC key binding approvals to actions (approval signs, tools verifies).
    approval_signing_key: SecretStr = SecretStr("dev-only-approval-key")
    # Set by the services that sign (approval) or verify (tools, orchestrator) approvals.
    uses_approval_key: ClassVar[bool] = False

    @field_validator("environment", mode="before")
    @classmethod
    def _known_environment(cls, value: Any) -> Any:
        # "Production" is production; "prod" or a typo is refused, never development.
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _enforce_production(self) -> Self:
        self.check_production_secrets()
        return self

    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def check_production_secrets(self) -> None:
        """Refuse development defaults in production, naming every problem at once."""
        if not self.is_production():
            return
        problems = self.production_problems()
        named = " ".join(problems)  # a secret already named by a specific problem
        problems += [p for p in self.placeholder_secrets()
                     if not re.search(rf"\b{p.split()[0]}\b", named)]
        if problems:
            raise ValueError("refused in production: " + "; ".join(problems))

    def placeholder_secrets(self) -> list[str]:
        """Every secret that is set must be real: a blank value or a development placeholder
        is refused even where the secret is optional (a key pasted from the sandbox must
        not go live). The approval key is exempt where the service never uses it."""
        skip = set() if self.uses_approval_key else {"approval_signing_key"}
        return [f"{name.upper()} is blank or a development value"
                for name in type(self).model_fields
                if name not in skip and isinstance(getattr(self, name), SecretStr)
                and not is_real_secret(getattr(self, name))]

    def production_problems(self) -> list[str]:
        """What production refuses; services extend the list (calling super). Only the
        services that sign or verify approvals need the approval key."""
        if self.uses_approval_key and not is_real_secret(self.approval_signing_key):
            return ["APPROVAL_SIGNING_KEY must be set (not blank, not the development key)"]
        return []
