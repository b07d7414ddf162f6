"""The connector vault: envelope encryption of stored credentials (Slack bot, user and
refresh tokens, incoming webhook URLs).

Each value gets its own random AES-256-GCM data key; the data key is wrapped (AES-GCM) by a
master key from VAULT_MASTER_KEYS, whose id is stored with the value:

    vault:1:<key id>:<b64url(nonce | wrapped data key)>:<b64url(nonce | ciphertext)>

The ciphertext's associated data is the record's context (client id, enterprise, team,
field, user), so a value copied to another team or another field fails to open, as does
any edited byte. Rotation re-seals values under the active key; the old key can go once
no value names it. Errors name the key id and the failure, never key material or tokens.
"""

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from triage_contracts.errors import ErrorCode, PermanentError

PREFIX = "vault:1:"
KEY_BYTES = 32
_NONCE = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# The development key: constant, so a dev database survives restarts; production refuses it.
DEV_KEY_ID = "dev-only"
_DEV_KEY = hashlib.sha256(b"triage dev-only vault key, not a secret").digest()


class VaultError(PermanentError):
    """A stored value cannot be opened (or a key is unusable): retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.INTERNAL)


class UnknownKey(VaultError):
    """The value names a master key id that VAULT_MASTER_KEYS does not hold."""


class Tampered(VaultError):
    """Authentication failed: edited bytes, another record's value, or the wrong key."""


class PlaintextRefused(VaultError):
    """A plaintext credential was read in production (run `vault reencrypt`)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decode_key(kid: str, text: str) -> bytes:
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/")
                               + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"VAULT_MASTER_KEYS: key {kid!r} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"VAULT_MASTER_KEYS: key {kid!r} must be {KEY_BYTES} bytes, "
                         f"not {len(raw)}")
    return raw


class MasterKeys:
    """Master keys by id; the first one is active (seals), the others only open."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("VAULT_MASTER_KEYS: no key")
        self.active = keys[0][0]
        self._keys: dict[str, bytes] = {}
        for kid, raw in keys:
            if not _KEY_ID.match(kid):
                raise ValueError("VAULT_MASTER_KEYS: a key id must be 1-32 of A-Z a-z 0-9 _ -")
            if kid in self._keys:
                raise ValueError(f"VAULT_MASTER_KEYS: key id {kid!r} appears twice")
            self._keys[kid] = raw

    @classmethod
    def parse(cls, secret: SecretStr) -> "MasterKeys":
        """`id:base64key,id2:base64key2` (first active); errors never echo the key."""
        entries = [e.strip() for e in secret.get_secret_value().split(",") if e.strip()]
        pairs = []
        for entry in entries:
            kid, sep, text = entry.partition(":")
            if not sep or not kid.strip():
                raise ValueError("VAULT_MASTER_KEYS: each entry is <key id>:<base64 key>")
            pairs.append((kid.strip(), _decode_key(kid.strip(), text.strip())))
        return cls(pairs)

    @classmethod
    def development(cls) -> "MasterKeys":
        return cls([(DEV_KEY_ID, _DEV_KEY)])

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    def key(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownKey(f"vault: no master key with id {kid!r} in VAULT_MASTER_KEYS "
                             f"(it holds {', '.join(self._keys)})") from None

    def __repr__(self) -> str:  # key ids only, never key bytes
        return f"MasterKeys(active={self.active!r}, ids={self.ids!r})"


def new_key_entry(kid: str) -> str:
    """A fresh `id:base64key` entry for VAULT_MASTER_KEYS."""
    if not _KEY_ID.match(kid):
        raise ValueError("a key id must be 1-32 of A-Z a-z 0-9 _ -")
    return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


@dataclass(frozen=True)
class Context:
    """Where a value belongs; it is the associated data of the ciphertext."""

    client_id: str
    enterprise_id: str | None
    team_id: str | None
    field: str
    user_id: str | None = None

    def aad(self) -> bytes:
        return json.dumps(["triage-vault/1", self.client_id, self.enterprise_id or "",
                           self.team_id or "", self.field, self.user_id or ""]).encode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def key_id_of(value: str) -> str | None:
    return value[len(PREFIX):].split(":", 1)[0] if is_sealed(value) else None


class Vault:
    def __init__(self, keys: MasterKeys, allow_plaintext: bool) -> None:
        self.keys = keys
        # Development only: rows written before the vault existed stay readable there.
        self.allow_plaintext = allow_plaintext

    def seal(self, plaintext: str, context: Context) -> str:
        kid = self.keys.active
        dek = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = AESGCM(self.keys.key(kid)).encrypt(wrap_nonce, dek, _wrap_aad(kid))
        sealed = AESGCM(dek).encrypt(nonce, plaintext.encode(), context.aad())
        return f"{PREFIX}{kid}:{_b64(wrap_nonce + wrapped)}:{_b64(nonce + sealed)}"

    def open(self, value: str, context: Context) -> str:
        if not is_sealed(value):
            if self.allow_plaintext:
                return value
            raise PlaintextRefused(
                f"vault: plaintext {context.field} for team {context.team_id or '-'} is "
                "refused in production; run `python -m triage_ingress vault reencrypt`")
        kid, wrapped, sealed = _parts(value)
        try:
            dek = AESGCM(self.keys.key(kid)).decrypt(wrapped[:_NONCE], wrapped[_NONCE:],
                                                     _wrap_aad(kid))
        except InvalidTag:
            raise Tampered(f"vault: the data key of {context.field} does not open with master "
                           f"key {kid!r} (wrong key material for that id, or edited)") from None
        try:
            return AESGCM(dek).decrypt(sealed[:_NONCE], sealed[_NONCE:],
                                       context.aad()).decode()
        except InvalidTag:
            raise Tampered(f"vault: {context.field} of team {context.team_id or '-'} fails "
                           "authentication (edited, or copied from another record)") from None

    def reseal(self, value: str, context: Context) -> str:
        """The value under the active key (plaintext is sealed: the migration path)."""
        plaintext = value if not is_sealed(value) else self.open(value, context)
        return self.seal(plaintext, context)


def _wrap_aad(kid: str) -> bytes:
    return f"triage-vault/1/data-key/{kid}".encode()


def _parts(value: str) -> tuple[str, bytes, bytes]:
    fields = value[len(PREFIX):].split(":")
    try:
        kid, wrapped, sealed = fields
        parts = kid, _unb64(wrapped), _unb64(sealed)
    except (ValueError, binascii.Error):
        raise Tampered("vault: malformed sealed value") from None
    if len(parts[1]) != _NONCE + KEY_BYTES + 16 or len(parts[2]) < _NONCE + 16:
        raise Tampered("vault: malformed sealed value")
    return parts
