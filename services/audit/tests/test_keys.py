"""The checkpoint key: from a file or the environment, a development key generated once,
none in production, public keys for rotation, and no key material in any message."""

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from triage_audit.checkpointer import Checkpointer
from triage_audit.keys import (
    DEV_KEY_NAME,
    UnusableKey,
    key_id_of,
    load_public_keys,
    load_signing_key,
    private_pem,
    public_pem,
    trusted_keys,
)
from triage_audit.settings import Settings
from triage_audit.sinks import FileSink
from triage_audit.store import AuditStore
from triage_contracts.settings import Environment
from triage_contracts.testing import PRODUCTION_NATS

Cli = Callable[..., subprocess.CompletedProcess[str]]


def write_key(path: Path) -> Ed25519PrivateKey:
    private = Ed25519PrivateKey.generate()
    path.write_bytes(private_pem(private))
    return private


def test_the_key_loads_from_a_file_or_the_environment(tmp_path: Path) -> None:
    private = write_key(tmp_path / "key.pem")
    from_file = load_signing_key(tmp_path / "key.pem", None, None, create=False)
    assert from_file is not None and not from_file.development
    assert from_file.key_id == key_id_of(private.public_key())
    from_env = load_signing_key(None, SecretStr(private_pem(private).decode()), None, False)
    assert from_env is not None and from_env.key_id == from_file.key_id
    assert load_signing_key(None, None, None, create=True) is None


def test_a_development_key_is_generated_once_owner_readable(tmp_path: Path) -> None:
    folder = tmp_path / ".triage"
    assert load_signing_key(None, None, folder, create=False) is None  # verify never creates
    first = load_signing_key(None, None, folder, create=True)
    again = load_signing_key(None, None, folder, create=True)
    assert first is not None and again is not None and first.development
    assert first.key_id == again.key_id
    mode = stat.S_IMODE((folder / DEV_KEY_NAME).stat().st_mode)
    assert mode == 0o600


def test_production_generates_no_key_and_refuses_to_start_without_one(tmp_path: Path) -> None:
    values = {"environment": Environment.PRODUCTION, "audit_data_dir": tmp_path,
              "audit_api_token": SecretStr("t" * 32),
              "audit_anchor_sinks": "s3://audit-anchors/prod", **PRODUCTION_NATS}
    with pytest.raises(ValueError, match="AUDIT_CHECKPOINT_KEY_FILE"):
        Settings(**values)  # refused as the settings are built
    # Even a process that skipped validation never generates a key in production.
    unchecked = Settings.model_construct(**values)
    assert trusted_keys(unchecked, create_dev_key=True) == (None, {})
    assert not (tmp_path / DEV_KEY_NAME).exists()
    no_sinks = Settings(**{**values, "audit_anchor_sinks": "",
                           "audit_checkpoint_key_file": tmp_path / "k.pem"})
    no_sinks.check_production_secrets()  # starts, but verify fails its anchor check
    assert no_sinks.sink_spec() == ""  # no development default in production


def test_the_service_process_refuses_production_without_a_key(tmp_path: Path) -> None:
    env = {**os.environ, "ENVIRONMENT": "production",
           "AUDIT_API_TOKEN": "t" * 32, "AUDIT_ANCHOR_SINKS": "file:///nowhere"}
    env.pop("AUDIT_CHECKPOINT_KEY_FILE", None)
    proc = subprocess.run([sys.executable, "-m", "triage_audit"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "AUDIT_CHECKPOINT_KEY_FILE" in proc.stderr
    assert not (tmp_path / ".triage").exists()


def test_unusable_keys_are_named_never_quoted(tmp_path: Path) -> None:
    secret = "-----BEGIN PRIVATE KEY-----\nSECRETMARKER123\n-----END PRIVATE KEY-----\n"
    (tmp_path / "bad.pem").write_text(secret)
    with pytest.raises(UnusableKey) as bad_file:
        load_signing_key(tmp_path / "bad.pem", None, None, False)
    with pytest.raises(UnusableKey) as bad_env:
        load_signing_key(None, SecretStr(secret), None, False)
    with pytest.raises(UnusableKey, match="cannot be read"):
        load_signing_key(tmp_path / "missing.pem", None, None, False)
    for error in (bad_file.value, bad_env.value):
        assert "SECRETMARKER" not in str(error) and "PKCS#8" in str(error)
    assert str(tmp_path / "bad.pem") in str(bad_file.value)


def test_public_keys_from_files_and_folders_for_rotation(tmp_path: Path) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "2025.pem").write_bytes(public_pem(old.public_key()))
    (tmp_path / "new.pem").write_bytes(public_pem(new.public_key()))
    keys = load_public_keys(f"{tmp_path / 'keys'}, {tmp_path / 'new.pem'}")
    assert set(keys) == {key_id_of(old.public_key()), key_id_of(new.public_key())}
    assert load_public_keys("") == {}
    write_key(tmp_path / "private.pem")
    with pytest.raises(UnusableKey, match="not a PEM public key"):
        load_public_keys(str(tmp_path / "private.pem"))


def test_keygen_writes_a_key_pair_and_never_overwrites(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "audit-checkpoint.pem"
    proc = cli("keygen", "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    key = load_signing_key(path, None, None, False)
    assert key is not None and key.key_id in proc.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(load_public_keys(f"{path}.pub")) == {key.key_id}
    again = cli("keygen", "--out", str(path))
    assert again.returncode == 2 and "exists" in again.stderr
    assert load_signing_key(path, None, None, False).key_id == key.key_id  # type: ignore[union-attr]


def test_the_data_folder_is_beside_the_sqlite_database(tmp_path: Path) -> None:
    beside = Settings(database_url=f"sqlite:///{tmp_path}/db/audit.db")
    assert beside.data_dir() == tmp_path / "db" == beside.dev_key_dir()
    assert beside.sink_spec() == f"file://{tmp_path}/db/anchors"
    assert Settings(database_url="postgresql+psycopg://a@h/db").data_dir() == Path(".triage")
    assert Settings(audit_data_dir=tmp_path / "x").data_dir() == tmp_path / "x"


def test_verify_given_only_the_database_finds_the_development_anchor(
    tmp_path: Path, cli: Cli, event_factory: Any,
) -> None:
    """`scripts/dev` keeps its SQLite database, development key and file sink in one folder:
    an operator's `verify` with DATABASE_URL alone checks signatures and the sink."""
    url = f"sqlite:///{tmp_path}/data/audit.db"
    store = AuditStore.from_url(url)
    store.create_schema()
    store.append(event_factory())
    key = load_signing_key(None, None, tmp_path / "data", create=True)
    assert key is not None
    Checkpointer(store.engine, [FileSink(tmp_path / "data" / "anchors")], key, {}).run_batch()
    store.dispose()
    proc = cli("verify", env={"DATABASE_URL": url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "anchored at seq 1 (batch 1" in proc.stdout
    assert "stored checkpoints: 1 valid" in proc.stdout
