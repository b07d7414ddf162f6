"""Approval grants: the claims the approval service signs and every writer verifies.

A grant is a human decision bound to one action: key id, team, approval id, action digest,
decision, approver, decided_at and a signed `expires_at`, signed with Ed25519. Only the
approval service holds a private key; the tools service and the orchestrator hold public
keys by key id (GRANT_PUBLIC_KEYS), so a compromised verifier (the tools pod reads untrusted
GitHub text) can check grants but never mint one.

A public key may be bound to one team: a grant for team T verifies only with a key bound to
T or with a global key. Verifiers accept every listed key, which makes rotation free of
downtime: publish the new public key, switch the signer, retire the old key
(docs/security-grants.md). Every refusal is a `GrantRefused` (permanent) whose code says why;
no message here quotes key material.
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from .errors import ErrorCode, PermanentError
from .messages import ApprovalDecision, ApprovalGrant, Decision

# Domain separation: these bytes can never be mistaken for another signed document.
PURPOSE = "triage.approval-grant.v1"
KID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RAW_KEY_BYTES = 32


class GrantRefused(PermanentError):
    """A grant that must not authorise anything; `code` is one of the GRANT_* codes."""


class GrantClaims(BaseModel):
    """Exactly what is signed. Datetimes must be timezone-aware (compared in UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str
    team_id: str
    approval_id: str
    action_digest: str
    decision: Decision
    approver_id: str
    decided_at: datetime
    expires_at: datetime


def signed_bytes(claims: GrantClaims) -> bytes:
    """Canonical JSON (sorted keys, UTC microsecond timestamps) under the purpose tag."""
    body: dict[str, Any] = claims.model_dump(mode="python")
    body["decision"] = claims.decision.value
    for name in ("decided_at", "expires_at"):
        body[name] = _utc(body[name]).isoformat(timespec="microseconds")
    body["purpose"] = PURPOSE
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise GrantRefused("grant timestamps must carry a time zone",
                           ErrorCode.GRANT_BAD_SIGNATURE)
    return at.astimezone(UTC)


def claims_of_decision(decision: ApprovalDecision) -> GrantClaims | None:
    """The claims a decision states; None when it is unsigned (no key id or expiry)."""
    if not decision.kid or decision.expires_at is None:
        return None
    return GrantClaims(kid=decision.kid, team_id=decision.team_id,
                       approval_id=decision.approval_id, action_digest=decision.action_digest,
                       decision=decision.decision, approver_id=decision.approver_id,
                       decided_at=decision.decided_at, expires_at=decision.expires_at)


def claims_of_grant(grant: ApprovalGrant, team_id: str) -> GrantClaims | None:
    """The claims a tool call's grant states (a grant always means "approve")."""
    if not grant.kid or grant.expires_at is None:
        return None
    return GrantClaims(kid=grant.kid, team_id=team_id, approval_id=grant.approval_id,
                       action_digest=grant.action_digest, decision=Decision.APPROVE,
                       approver_id=grant.approver_id, decided_at=grant.decided_at,
                       expires_at=grant.expires_at)


# --- public keys ---------------------------------------------------------------------------


class PublicKeySpec(BaseModel):
    """One entry of GRANT_PUBLIC_KEYS: the key (PEM or base64 of the 32 raw bytes) and the
    team it is bound to (None: valid for every team)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1)
    team: str | None = None


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError("not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("grant keys must be Ed25519")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("neither PEM nor base64") from exc
    if len(raw) != RAW_KEY_BYTES:
        raise ValueError(f"a raw Ed25519 public key has {RAW_KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(public: Ed25519PublicKey) -> str:
    """The base64 raw form GRANT_PUBLIC_KEYS accepts (one line, no PEM armour)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def check_kid(kid: str) -> str:
    if not KID_PATTERN.match(kid):
        raise ValueError(f"a key id is 1-64 of A-Z a-z 0-9 . _ : - (got {kid!r})")
    return kid


@dataclass(frozen=True)
class TrustedKey:
    public: Ed25519PublicKey
    team: str | None = None

    def serves(self, team_id: str) -> bool:
        return self.team is None or self.team == team_id


class Keyring:
    """The public keys a verifier trusts, by key id."""

    def __init__(self, keys: Mapping[str, TrustedKey]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_specs(cls, specs: Mapping[str, PublicKeySpec]) -> "Keyring":
        """Raises ValueError naming the key id whose key cannot be read."""
        keys = {}
        for kid, spec in specs.items():
            try:
                keys[check_kid(kid)] = TrustedKey(load_public_key(spec.key), spec.team)
            except ValueError as exc:
                raise ValueError(f"grant public key {kid!r}: {exc}") from exc
        return cls(keys)

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def authenticate(self, claims: GrantClaims | None, signature: str) -> GrantClaims:
        """The claims if signed by a listed key valid for their team; GrantRefused else."""
        if claims is None:
            raise GrantRefused("the grant names no key id or expiry (unsigned, or signed "
                               "before grants were asymmetric): approve again",
                               ErrorCode.GRANT_UNKNOWN_KEY)
        key = self._keys.get(claims.kid)
        if key is None:
            raise GrantRefused(f"the grant is signed by key {claims.kid!r}, which is not "
                               "among the trusted grant keys", ErrorCode.GRANT_UNKNOWN_KEY)
        if not key.serves(claims.team_id):
            raise GrantRefused(f"key {claims.kid!r} is bound to another team than "
                               f"{claims.team_id}", ErrorCode.GRANT_WRONG_TEAM)
        try:
            key.public.verify(_b64(signature), signed_bytes(claims))
        except (InvalidSignature, ValueError) as exc:
            raise GrantRefused("the grant's signature does not match its content",
                               ErrorCode.GRANT_BAD_SIGNATURE) from exc
        return claims

    def verify(self, claims: GrantClaims | None, signature: str, *, action_digest: str,
               now: datetime) -> GrantClaims:
        """A grant that authorises the action with `action_digest` at `now`."""
        claims = self.authenticate(claims, signature)
        check_current(claims, now)
        if claims.decision is not Decision.APPROVE:
            raise GrantRefused(f"the decision is {claims.decision.value}, not approve",
                               ErrorCode.GRANT_OTHER_ACTION)
        if claims.action_digest != action_digest:
            raise GrantRefused("the grant approves a different tool, arguments, run or team",
                               ErrorCode.GRANT_OTHER_ACTION)
        return claims


def check_current(claims: GrantClaims, now: datetime) -> None:
    if _utc(now) >= _utc(claims.expires_at):
        raise GrantRefused(f"the grant expired at {_utc(claims.expires_at).isoformat()}: "
                           "approve again", ErrorCode.GRANT_EXPIRED)


def _b64(signature: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("signature is not base64") from exc


def encode_signature(raw: bytes) -> str:
    """Signatures travel as unpadded base64url (86 characters for Ed25519)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
