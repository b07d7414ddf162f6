"""Audit settings: where the chain is stored and who may read it."""

from pydantic import Field, SecretStr
from triage_contracts.settings import ServiceSettings, is_real_secret

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

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not is_real_secret(self.audit_api_token):
            problems.append("AUDIT_API_TOKEN must be set (not blank)")
        return problems
