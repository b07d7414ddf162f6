"""Throwaway grant key pairs for tests and the development launcher.

The private half goes to the approval service (or a test that plays it), the public half to
verifiers, exactly as in production; keys live in memory only and die with the process.
"""

import json
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..grants import GrantClaims, encode_signature, public_key_text, signed_bytes


@dataclass(frozen=True)
class GrantKeyPair:
    kid: str
    private: Ed25519PrivateKey = field(repr=False)
    team: str | None = None

    @classmethod
    def generate(cls, kid: str | None = None, team: str | None = None) -> "GrantKeyPair":
        return cls(kid or "dev-" + secrets.token_hex(4), Ed25519PrivateKey.generate(), team)

    @property
    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    @property
    def public_key(self) -> str:
        return public_key_text(self.private.public_key())

    def public_entry(self) -> dict[str, dict[str, str | None]]:
        """This key as a GRANT_PUBLIC_KEYS entry."""
        return {self.kid: {"key": self.public_key, "team": self.team}}

    def signer_env(self) -> dict[str, str]:
        """The approval service's environment (global signing key)."""
        return {"GRANT_SIGNING_KEY": self.private_pem, "GRANT_SIGNING_KEY_ID": self.kid}

    def sign(self, claims: GrantClaims) -> str:
        return encode_signature(self.private.sign(signed_bytes(claims)))


def public_keys_env(*pairs: GrantKeyPair) -> dict[str, str]:
    """A verifier's environment trusting `pairs` (tools, orchestrator)."""
    entries: dict[str, dict[str, str | None]] = {}
    for pair in pairs:
        entries.update(pair.public_entry())
    return {"GRANT_PUBLIC_KEYS": json.dumps(entries)}
