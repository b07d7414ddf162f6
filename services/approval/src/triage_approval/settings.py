"""Settings of the approval service: who may approve, how approvers authenticate, storage.

Approvers authenticate by OpenID Connect login (`OIDC_*`, a signed session cookie), by a
JWT an authenticating proxy signs (`PROXY_*`, verified against its JWKS), or, as the Slack
ingress, with SERVICE_TOKEN. A bare header is never proof of identity: the old
IDENTITY_HEADER is refused so a deployment relying on it fails loudly at start.

Grants are signed with an Ed25519 key only this service holds (`GRANT_SIGNING_KEY`,
`signer.py`); verifiers get the public half.

Validated at start: an incomplete login configuration or an unreadable grant key is refused
everywhere; production also refuses the sandbox's self-selected identity, a missing session
secret and a missing grant signing key, so a misconfiguration fails instead of weakening
approvals.
"""

from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from triage_contracts.grants import check_kid
from triage_contracts.settings import ServiceSettings, is_real_secret

from .signer import GrantSigner, SigningKey, load_private_key, team_keys

# Asymmetric JWS algorithms only: "none" and the HMAC family (key confusion) are never
# accepted for a token someone else signs.
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                   "ES256", "ES384", "ES512", "EdDSA"})
SLACK_USER_CLAIM = "https://slack.com/user_id"
SLACK_TEAM_CLAIM = "https://slack.com/team_id"


class Settings(ServiceSettings):
    # A refused configuration must not print the raw input: it holds the secrets.
    model_config = SettingsConfigDict(hide_input_in_errors=True)
    nats_identity: ClassVar[str] = "approval"

    database_url: str = Field(
        "sqlite:///./.triage/approval.db", description="SQLAlchemy URL of the approvals table")
    approvers: str = Field(
        "", description="Comma-separated user ids allowed to approve, added to the Workspace "
                        "lists: 'T123:U1' for team T123 only, a bare 'U1' for every team")
    dev_identity: bool = Field(
        False, description="Sandbox only: pick the acting user in the page (refused in "
                           "production)")
    public_url: str = Field("http://127.0.0.1:8320",
                            description="External base URL: links and the OIDC redirect URI")
    service_token: SecretStr | None = Field(
        None, description="Bearer token of trusted callers (Slack ingress) that name the "
                          "approver and team in the request")
    sweep_interval: float = Field(
        5.0, gt=0, description="Seconds between expiry / re-publish sweeps")
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="Port of /metrics (never served on PORT); unset = "
                                          "no metrics listener")
    directory_cache_seconds: float = Field(
        10.0, ge=0, description="How long the list of teams a user approves for is cached")
    directory_stale_seconds: float = Field(
        300.0, ge=0, description="While NATS is unreachable, how old the last directory "
                                 "read may be and still decide (0 = refuse)")

    session_secret: SecretStr | None = Field(
        None, description="Signs the session cookie (login, CSRF token); random per process "
                          "when unset (development only)")
    session_max_age: int = Field(8 * 3600, gt=0, description="Session lifetime in seconds")

    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer (https://slack.com for Sign in with Slack); "
                          "enables login")
    oidc_metadata_url: str | None = Field(
        None, description="Discovery document (default <issuer>/.well-known/"
                          "openid-configuration)")
    oidc_client_id: str | None = Field(None, description="OIDC client id")
    oidc_client_secret: SecretStr | None = Field(
        None, description="OIDC client secret (unset: a public client, PKCE only)")
    oidc_scopes: str = Field("openid profile", description="Scopes asked at login")
    oidc_token_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] = Field(
        "client_secret_basic", description="How the client authenticates at the token "
                                           "endpoint (Slack: client_secret_post)")

    proxy_jwks_url: str | None = Field(
        None, description="JWKS of the authenticating proxy; enables proxy JWTs")
    proxy_jwt_header: str = Field(
        "Authorization", description="Header carrying the proxy's JWT (a 'Bearer ' prefix "
                                     "is accepted)")
    proxy_jwt_issuer: str | None = Field(None, description="Required `iss` of proxy JWTs")
    proxy_jwt_audience: str | None = Field(None, description="Required `aud` of proxy JWTs")
    proxy_jwt_algorithms: str = Field(
        "RS256,ES256", description="Accepted JWS algorithms, comma-separated (asymmetric only)")
    jwks_cache_seconds: float = Field(300.0, gt=0, description="JWKS cache lifetime")

    user_id_claim: str = Field(SLACK_USER_CLAIM,
                               description="Claim holding the person's Slack user id")
    team_id_claim: str = Field(
        SLACK_TEAM_CLAIM, description="Claim holding the Slack team id(s) the person may see; "
                                      "absent from a token = the teams they approve for")
    token_leeway: int = Field(30, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat")

    grant_signing_key: SecretStr | None = Field(
        None, description="Ed25519 private key signing grants for every team (PEM or base64 "
                          "raw; `python -m triage_approval keys generate`)")
    grant_signing_key_id: str | None = Field(
        None, description="Key id of GRANT_SIGNING_KEY, as listed in GRANT_PUBLIC_KEYS")
    grant_team_signing_keys: SecretStr | None = Field(
        None, description='Teams with a key of their own, JSON {"T123": {"kid": ..., '
                          '"key": ...}}; wins over GRANT_SIGNING_KEY for that team')
    grant_ttl_s: float = Field(3600.0, gt=0, le=7 * 86400,
                               description="How long an approval grant authorises its write")

    identity_header: str | None = Field(
        None, description="Refused: a bare header is not proof of identity")

    @model_validator(mode="after")
    def _login_configuration_complete(self) -> Self:
        problems = self.configuration_problems()
        if problems:
            raise ValueError("invalid approval settings: " + "; ".join(problems))
        return self

    def configuration_problems(self) -> list[str]:
        """What no environment accepts (an incomplete login configuration)."""
        problems = []
        if self.identity_header:
            problems.append("IDENTITY_HEADER is no longer read: a bare header is not proof of "
                            "identity; configure OIDC_ISSUER or PROXY_JWKS_URL instead "
                            "(docs/security-approvals.md)")
        if self.oidc_enabled:
            if not self.oidc_client_id:
                problems.append("OIDC_ISSUER needs OIDC_CLIENT_ID")
            if "openid" not in self.oidc_scopes.split():
                problems.append("OIDC_SCOPES must include 'openid' (the ID token is the proof)")
            if self.oidc_client_secret is None and self.oidc_token_auth_method != "none":
                problems.append("without OIDC_CLIENT_SECRET set OIDC_TOKEN_AUTH_METHOD=none")
        if self.proxy_enabled and not (self.proxy_jwt_issuer and self.proxy_jwt_audience):
            problems.append("PROXY_JWKS_URL needs PROXY_JWT_ISSUER and PROXY_JWT_AUDIENCE")
        problems.extend(self._grant_key_problems())
        unknown = set(self.algorithms) - ASYMMETRIC_ALGORITHMS
        if unknown or not self.algorithms:
            problems.append(f"PROXY_JWT_ALGORITHMS must be asymmetric JWS algorithms from "
                            f"{sorted(ASYMMETRIC_ALGORITHMS)}, not {sorted(unknown)}")
        return problems

    def _grant_key_problems(self) -> list[str]:
        if (self.grant_signing_key is None) != (self.grant_signing_key_id is None):
            return ["GRANT_SIGNING_KEY and GRANT_SIGNING_KEY_ID are set together"]
        try:
            self.grant_signer()
        except ValueError as exc:  # names the setting, never the key
            return [str(exc)]
        return []

    def grant_signer(self) -> GrantSigner:
        default = None
        if self.grant_signing_key is not None and self.grant_signing_key_id is not None:
            default = SigningKey(check_kid(self.grant_signing_key_id), load_private_key(
                self.grant_signing_key.get_secret_value(), "GRANT_SIGNING_KEY"))
        return GrantSigner(default, team_keys(self.grant_team_signing_keys), self.grant_ttl_s)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.grant_signing_key is None and self.grant_team_signing_keys is None:
            problems.append("GRANT_SIGNING_KEY (with GRANT_SIGNING_KEY_ID) must be set: "
                            "approvals cannot be signed without it")
        if self.dev_identity:
            problems.append("DEV_IDENTITY=true is refused in production: approvers must "
                            "authenticate (OIDC_ISSUER or PROXY_JWKS_URL)")
        if (self.oidc_enabled or self.proxy_enabled) and not is_real_secret(self.session_secret):
            problems.append("SESSION_SECRET must be set (not blank, not a development value)")
        if self.oidc_enabled and not self.public_url.startswith("https://"):
            problems.append("PUBLIC_URL must be https:// with OIDC login (Secure cookies)")
        return problems

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def proxy_enabled(self) -> bool:
        return bool(self.proxy_jwks_url)

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.proxy_jwt_algorithms.split(",") if a.strip())

    @property
    def oidc_discovery_url(self) -> str:
        issuer = (self.oidc_issuer or "").rstrip("/")
        return self.oidc_metadata_url or f"{issuer}/.well-known/openid-configuration"

    @property
    def secure_cookies(self) -> bool:
        """Secure session cookies whenever the service is reached over https."""
        return self.public_url.startswith("https://")
