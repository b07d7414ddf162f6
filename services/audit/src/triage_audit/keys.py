"""The checkpoint signing key and the public keys that check checkpoints (file I/O only).

The private key is Ed25519, PEM PKCS#8, from AUDIT_CHECKPOINT_KEY_FILE or the
AUDIT_CHECKPOINT_KEY variable; the database never holds it. In development, with neither set,
a key is generated once into the local data folder and reused (production refuses to start
without one: settings.py). A key is named by its key id, the first 16 hex digits of the
SHA-256 of its raw public key, so checkpoints name the key that signed them and a verifier
can hold several public keys across a rotation. No function here logs or returns key
material; error messages name files, never their content.
"""

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import SecretStr
from triage_contracts.errors import ErrorCode, PermanentError

from .settings import Settings

DEV_KEY_NAME = "audit-checkpoint-dev-key.pem"


class UnusableKey(PermanentError):
    """A configured key cannot be used (missing file, not Ed25519 PEM)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.BAD_REQUEST)


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey = field(repr=False)
    # Where it came from, for the start-up log line: a file path, "environment", or the
    # generated development key's path.
    source: str = ""
    development: bool = False

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def _private_from_pem(data: bytes, source: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:  # the library's message never quotes the key
        raise UnusableKey(f"{source}: not an unencrypted PEM PKCS#8 private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UnusableKey(f"{source}: the checkpoint key must be Ed25519")
    return SigningKey(key_id_of(key.public_key()), key, source)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnusableKey(f"{what} {path} cannot be read ({exc.strerror})") from exc


def load_signing_key(key_file: Path | None, key_pem: SecretStr | None,
                     dev_dir: Path | None, create: bool) -> SigningKey | None:
    """The configured key; else the development key in `dev_dir` (generated when `create`);
    else None (a verifier with public keys only)."""
    if key_file is not None:
        return _private_from_pem(_read(key_file, "AUDIT_CHECKPOINT_KEY_FILE"), str(key_file))
    if key_pem is not None:
        return _private_from_pem(key_pem.get_secret_value().encode(), "AUDIT_CHECKPOINT_KEY")
    if dev_dir is None:
        return None
    path = dev_dir / DEV_KEY_NAME
    if not path.exists():
        if not create:
            return None
        _create_dev_key(path)
    key = _private_from_pem(_read(path, "development checkpoint key"), str(path))
    return SigningKey(key.key_id, key.private, str(path), development=True)


def _create_dev_key(path: Path) -> None:
    """A new key readable by its owner only; a racing process's key wins (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write_new(path, private_pem(Ed25519PrivateKey.generate()), 0o600)
    except FileExistsError:
        return


def write_key_pair(path: Path) -> str:
    """`python -m triage_audit keygen`: a new private key at `path` (0600, never over an
    existing file) and its public key at `path`.pub; returns the key id."""
    private = Ed25519PrivateKey.generate()
    try:
        _write_new(path, private_pem(private), 0o600)
        _write_new(path.with_name(path.name + ".pub"), public_pem(private.public_key()), 0o644)
    except FileExistsError as exc:
        raise UnusableKey(f"{exc.filename} exists: not overwritten") from exc
    except OSError as exc:
        raise UnusableKey(f"{exc.filename}: {exc.strerror}") from exc
    return key_id_of(private.public_key())


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def load_public_keys(spec: str) -> dict[str, Ed25519PublicKey]:
    """Public keys by key id from `spec`: PEM files and folders of `*.pem`, comma-separated
    (AUDIT_CHECKPOINT_PUBLIC_KEYS). Old keys stay listed after a rotation."""
    keys: dict[str, Ed25519PublicKey] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        path = Path(item)
        files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
        for file in files:
            public = _public_from_pem(_read(file, "public key"), str(file))
            keys[key_id_of(public)] = public
    return keys


def _public_from_pem(data: bytes, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise UnusableKey(f"{source}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise UnusableKey(f"{source}: checkpoint public keys must be Ed25519")
    return key


def trusted_keys(settings: Settings, create_dev_key: bool = False
                 ) -> tuple[SigningKey | None, dict[str, Ed25519PublicKey]]:
    """The signing key (if any) and every public key verify accepts: the configured public
    keys plus the signing key's own."""
    key = load_signing_key(settings.audit_checkpoint_key_file, settings.audit_checkpoint_key,
                           settings.dev_key_dir(), create=create_dev_key)
    public = load_public_keys(settings.audit_checkpoint_public_keys)
    if key is not None:
        public[key.key_id] = key.public
    return key, public
