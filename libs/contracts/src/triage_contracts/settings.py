"""Settings base shared by every service: NATS, logging, the health/API listener, and the
production checks.

Each service subclasses it with its own fields; settings are built once in `main` and
passed down (no scattered environment reads). Production checks are the settings' own
validator: building a `Settings()` with `ENVIRONMENT=production` and a development default
(or a blank secret) fails right there, with every problem listed, before anything starts.
"""

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .grants import Keyring, PublicKeySpec

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
    # Only the provisioner uses it. Unset keeps an existing stream's count (new ones get 1):
    # a run without it never lowers a 3-node cluster's R3 streams to R1.
    nats_replicas: int | None = Field(None, ge=1, le=5,
                                      description="Stream replicas (3 in production)")
    # This service's own NATS identity (docs/security-nats.md); development falls back to
    # the identity's name and its `dev-only-` password, production refuses that.
    nats_user: str | None = Field(None, description="NATS user (the service's identity)")
    nats_password: SecretStr | None = Field(None, description="That user's NATS password")
    nats_tls_ca_file: Path | None = Field(None, description="CA bundle that signed NATS's cert")
    nats_tls_cert_file: Path | None = Field(None, description="Client certificate (mutual TLS)")
    nats_tls_key_file: Path | None = Field(None, description="Client certificate's key")
    # Only provision/consume one workspace's subjects (set by the operator per workspace).
    team_scope: str | None = Field(None, description="Restrict consumers to one Slack team")
    # Handlers mostly wait (GitHub, the model, KV, the audit database): 8 in flight keep a
    # process busy without one burst taking all of a shared quota; 1 restores one batch at
    # a time. Each consumer may cap it (ConsumerSpec.max_concurrency).
    consumer_concurrency: int = Field(8, ge=1, le=256,
                                      description="Messages each consumer handles at once")
    # How often /metrics' triage_consumer_lag is read from JetStream (lag.py); 0 = never.
    consumer_lag_interval_s: float = Field(
        15.0, ge=0, description="Seconds between readings of the consumer lag metric")
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "INFO"
    log_json: bool = False
    environment: Environment = Field(Environment.DEVELOPMENT,
                                     description="development | production")
    # The service's identity in `triage_contracts.permissions` (ingress picks one by role).
    nats_identity: ClassVar[str] = ""

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
        not go live)."""
        return [f"{name.upper()} is blank or a development value"
                for name in type(self).model_fields
                if isinstance(getattr(self, name), SecretStr)
                and not is_real_secret(getattr(self, name))]

    def production_problems(self) -> list[str]:
        """What production refuses; services extend the list (calling super)."""
        return nats_problems(self)

    def nats_identity_name(self) -> str:
        return type(self).nats_identity


def nats_problems(settings: ServiceSettings) -> list[str]:
    """Production connects to NATS as its own user with a real password (fails closed)."""
    problems = []
    if not settings.nats_user:
        problems.append("NATS_USER must be set")
    if not is_real_secret(settings.nats_password):
        problems.append("NATS_PASSWORD must be set (not blank, not a development password)")
    if bool(settings.nats_tls_cert_file) != bool(settings.nats_tls_key_file):
        problems.append("NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together")
    return problems


class GrantVerifierSettings(ServiceSettings):
    """Settings of a service that verifies approval grants (tools, orchestrator): public
    keys only. The private key lives in the approval service alone (grants.py)."""

    grant_public_keys: Annotated[dict[str, PublicKeySpec], NoDecode] = Field(
        default_factory=dict,
        description='Trusted grant keys as JSON: {"<kid>": "<public key>"} or {"<kid>": '
                    '{"key": "<public key>", "team": "T123"}}; PEM or base64 raw Ed25519')

    @field_validator("grant_public_keys", mode="before")
    @classmethod
    def _bare_key_is_global(cls, value: Any) -> Any:
        if isinstance(value, str):  # the environment's JSON; blank = no key
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError("GRANT_PUBLIC_KEYS must be a JSON object by key id") from exc
        if isinstance(value, dict):
            return {kid: {"key": spec} if isinstance(spec, str) else spec
                    for kid, spec in value.items()}
        return value

    @model_validator(mode="after")
    def _keys_readable(self) -> Self:
        self.grant_keyring()  # a key that cannot be read fails at start, naming its id
        return self

    def grant_keyring(self) -> Keyring:
        return Keyring.from_specs(self.grant_public_keys)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.grant_public_keys:
            problems.append("GRANT_PUBLIC_KEYS must list at least one grant public key "
                            "(without one every approved write is refused)")
        return problems
