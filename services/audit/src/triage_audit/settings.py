"""Audit settings: where the chain is stored and who may read it."""

from pydantic import Field, SecretStr
from triage_contracts.settings import ServiceSettings

DEFAULT_DATABASE_URL = "sqlite:///./.triage/audit.db"


class Settings(ServiceSettings):
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///PATH (embedded) or postgresql+psycopg://...",
    )
    # The query API exposes every workspace's activity: production requires a token.
    audit_api_token: SecretStr | None = Field(
        default=None, description="When set, the query API requires 'Authorization: Bearer <token>'"
    )

    def check_production_secrets(self) -> None:
        super().check_production_secrets()
        if self.is_production() and self.audit_api_token is None:
            raise ValueError("AUDIT_API_TOKEN must be set in production")
