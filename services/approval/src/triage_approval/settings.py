"""Settings of the approval service: who may approve, where identity comes from, storage.

Validated at start: production refuses the sandbox's self-selected identity and the
development signing key, so a misconfiguration fails loudly instead of weakening approvals.
"""

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from triage_contracts.settings import ServiceSettings


class Settings(ServiceSettings):
    uses_approval_key: ClassVar[bool] = True
    # A refused configuration must not print the raw input: it holds the secrets.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    database_url: str = Field(
        "sqlite:///./.triage/approval.db", description="SQLAlchemy URL of the approvals table")
    approvers: str = Field(
        "", description="Comma-separated user ids allowed to approve; 'T123:U1' limits U1 to "
                        "team T123, a bare 'U1' may approve for every team")
    identity_header: str = Field(
        "X-Forwarded-User", description="Header carrying the user authenticated by the proxy")
    dev_identity: bool = Field(
        False, description="Sandbox only: pick the acting user in the page (cookie)")
    public_url: str = Field("http://127.0.0.1:8320", description="Base URL for links")
    service_token: SecretStr | None = Field(
        None, description="Bearer token of trusted callers (Slack ingress) that may name the "
                          "approver in the request body")
    sweep_interval: float = Field(
        5.0, gt=0, description="Seconds between expiry / re-publish sweeps")

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.dev_identity:
            problems.append("DEV_IDENTITY=true is refused in production: identity must come "
                            f"from the authenticating proxy ({self.identity_header})")
        return problems

    def approvers_for(self, team_id: str) -> frozenset[str]:
        """User ids allowed to approve for `team_id` (global entries plus the team's own)."""
        allowed: set[str] = set()
        for entry in (part.strip() for part in self.approvers.split(",")):
            if not entry:
                continue
            team, sep, user = entry.partition(":")
            if not sep:
                allowed.add(team)
            elif team == team_id and user:
                allowed.add(user)
        return frozenset(allowed)

    def all_approvers(self) -> list[str]:
        """Every configured approver id (for the sandbox's 'act as' selector)."""
        users = {entry.strip().rpartition(":")[2] for entry in self.approvers.split(",")}
        return sorted(u for u in users if u)
