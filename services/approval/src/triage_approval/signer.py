"""The grant signer: the only holder of a private grant key in the whole system.

One active key per scope: GRANT_SIGNING_KEY (with GRANT_SIGNING_KEY_ID) for every team, and
optionally GRANT_TEAM_SIGNING_KEYS for teams with a key of their own. A team's own key wins
over the global one. Rotating means replacing the key here after its public half is listed
in every verifier's GRANT_PUBLIC_KEYS (docs/security-grants.md). Keys are PEM (PKCS#8) or
base64 of the 32 raw private bytes; no message here quotes key material.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.grants import (
    RAW_KEY_BYTES,
    GrantClaims,
    check_kid,
    encode_signature,
    signed_bytes,
)
from triage_contracts.messages import Decision


class NoSigningKey(PermanentError):
    """No key may sign for this team: the decision cannot be made (nothing is stored)."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"no grant signing key for team {team_id} (set GRANT_SIGNING_KEY "
                         "and GRANT_SIGNING_KEY_ID)", ErrorCode.INTERNAL)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey = field(repr=False)


@dataclass(frozen=True)
class Seal:
    """What a signature adds to a decision; stored with the row so a re-publish is identical."""

    kid: str
    expires_at: datetime
    signature: str


class _TeamKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kid: str
    key: str


def load_private_key(text: str, where: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM PKCS#8 or base64 raw bytes (ValueError naming
    `where`, never the content)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"{where}: not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{where}: grant keys must be Ed25519")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{where}: neither PEM nor base64") from exc
    if len(raw) != RAW_KEY_BYTES:
        raise ValueError(f"{where}: a raw Ed25519 private key has {RAW_KEY_BYTES} bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def team_keys(secret: SecretStr | None) -> dict[str, SigningKey]:
    """GRANT_TEAM_SIGNING_KEYS: JSON {"T123": {"kid": "...", "key": "..."}}."""
    if secret is None or not secret.get_secret_value().strip():
        return {}
    try:
        raw = json.loads(secret.get_secret_value())
        entries = {team: _TeamKey.model_validate(v) for team, v in dict(raw).items()}
    except (ValueError, TypeError, ValidationError) as exc:
        # ValidationError is a ValueError; neither message is shown: it may quote a key.
        raise ValueError('GRANT_TEAM_SIGNING_KEYS must be JSON {"<team>": {"kid": ..., '
                         '"key": ...}}') from exc
    return {team: SigningKey(check_kid(e.kid), load_private_key(
        e.key, f"GRANT_TEAM_SIGNING_KEYS[{team}]")) for team, e in entries.items()}


class GrantSigner:
    def __init__(self, default: SigningKey | None, per_team: dict[str, SigningKey],
                 ttl_s: float) -> None:
        self.default = default
        self.per_team = per_team
        self.ttl = timedelta(seconds=ttl_s)

    def key_for(self, team_id: str) -> SigningKey:
        key = self.per_team.get(team_id, self.default)
        if key is None:
            raise NoSigningKey(team_id)
        return key

    def seal(self, team_id: str, approval_id: str, digest: str, decision: Decision,
             approver: str, at: datetime) -> Seal:
        """Sign a decision made `at`; the grant it makes expires `ttl` later."""
        key = self.key_for(team_id)
        claims = GrantClaims(kid=key.kid, team_id=team_id, approval_id=approval_id,
                             action_digest=digest, decision=decision, approver_id=approver,
                             decided_at=at, expires_at=at + self.ttl)
        signature = encode_signature(key.private.sign(signed_bytes(claims)))
        return Seal(key.kid, claims.expires_at, signature)
