"""Settings base shared by every service: NATS, logging, the health/API listener.

Each service subclasses it with its own fields; settings are built once in `main` and
passed down (no scattered environment reads).
"""

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    environment: str = Field("development", description="development | production")
    # Shared HMAC key binding approvals to actions (approval signs, tools verifies).
    approval_signing_key: SecretStr = SecretStr("dev-only-approval-key")
    # Set by the services that sign (approval) or verify (tools, orchestrator) approvals.
    uses_approval_key: ClassVar[bool] = False

    def is_production(self) -> bool:
        return self.environment == "production"

    def check_production_secrets(self) -> None:
        """Refuse development defaults outside development (fail at start, not later).
        Only the services that sign or verify approvals need the approval key."""
        if not (self.is_production() and self.uses_approval_key):
            return
        if self.approval_signing_key.get_secret_value().startswith("dev-only"):
            raise ValueError("APPROVAL_SIGNING_KEY must be set in production")
