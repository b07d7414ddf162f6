"""The grant signer, its settings and `keys generate`: the approval service signs with the
active key of the team (else the global key), verifiers hold public keys only, and a
rotation keeps every grant verifiable while both keys are listed."""

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import inspect, text
from triage_approval.db import create_schema, make_engine
from triage_approval.settings import Settings
from triage_approval.signer import NoSigningKey, load_private_key
from triage_contracts.errors import ErrorCode
from triage_contracts.grants import (
    GrantClaims,
    GrantRefused,
    Keyring,
    PublicKeySpec,
    load_public_key,
)
from triage_contracts.messages import Decision
from triage_contracts.testing import PRODUCTION_NATS
from triage_contracts.testing.grant_keys import GrantKeyPair

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DIGEST = "d" * 64


def signer_settings(pair: GrantKeyPair | None, teams: dict[str, GrantKeyPair] | None = None,
                    **more: object) -> Settings:
    values: dict[str, object] = {"_env_file": None, **more}
    if pair is not None:
        values |= {"grant_signing_key": SecretStr(pair.private_pem),
                   "grant_signing_key_id": pair.kid}
    if teams:
        values["grant_team_signing_keys"] = SecretStr(json.dumps(
            {team: {"kid": p.kid, "key": p.private_pem} for team, p in teams.items()}))
    return Settings(**values)  # type: ignore[arg-type]


def verify(keyring: Keyring, settings: Settings, team: str = "T1",
           now: datetime = AT) -> GrantClaims:
    seal = settings.grant_signer().seal(team, "apr1", DIGEST, Decision.APPROVE, "U1", AT)
    claims = GrantClaims(kid=seal.kid, team_id=team, approval_id="apr1", action_digest=DIGEST,
                         decision=Decision.APPROVE, approver_id="U1", decided_at=AT,
                         expires_at=seal.expires_at)
    return keyring.verify(claims, seal.signature, action_digest=DIGEST, now=now)


def ring(*pairs: GrantKeyPair) -> Keyring:
    return Keyring.from_specs({p.kid: PublicKeySpec(key=p.public_key, team=p.team)
                               for p in pairs})


def test_a_seal_verifies_with_the_public_key_and_expires_after_the_ttl() -> None:
    pair = GrantKeyPair.generate("k1")
    settings = signer_settings(pair, grant_ttl_s=600)
    claims = verify(ring(pair), settings)
    assert claims.expires_at == AT + timedelta(minutes=10)
    with pytest.raises(GrantRefused) as caught:
        verify(ring(pair), settings, now=AT + timedelta(minutes=10))
    assert caught.value.code is ErrorCode.GRANT_EXPIRED


def test_rotation_publish_then_switch_then_retire() -> None:
    old, new = GrantKeyPair.generate("2026-10"), GrantKeyPair.generate("2026-11")
    # 1. The new public key is published beside the old one: the old signer still verifies.
    published = ring(old, new)
    assert verify(published, signer_settings(old)).kid == "2026-10"
    # 2. The signer switches: grants now name the new key and verify everywhere.
    assert verify(published, signer_settings(new)).kid == "2026-11"
    # 3. The old key is retired: what it signs is refused, the new key's grants still pass.
    retired = ring(new)
    with pytest.raises(GrantRefused) as caught:
        verify(retired, signer_settings(old))
    assert caught.value.code is ErrorCode.GRANT_UNKNOWN_KEY
    assert verify(retired, signer_settings(new)).kid == "2026-11"


def test_a_team_key_wins_for_its_team_and_verifies_for_it_only() -> None:
    global_key = GrantKeyPair.generate("global")
    team_key = GrantKeyPair.generate("acme", team="T_ACME")
    settings = signer_settings(global_key, {"T_ACME": team_key})
    keyring = ring(global_key, team_key)
    assert verify(keyring, settings, team="T_ACME").kid == "acme"
    assert verify(keyring, settings, team="T_OTHER").kid == "global"
    # Only team keys: another team has no key, and nothing is signed for it.
    only_teams = signer_settings(None, {"T_ACME": team_key})
    with pytest.raises(NoSigningKey, match="no grant signing key for team T_OTHER"):
        only_teams.grant_signer().seal("T_OTHER", "a", DIGEST, Decision.APPROVE, "U1", AT)


def test_production_refuses_a_missing_signing_key() -> None:
    with pytest.raises(ValidationError, match="GRANT_SIGNING_KEY"):
        signer_settings(None, environment="production")
    signer_settings(GrantKeyPair.generate("k1"), environment="production", **PRODUCTION_NATS)


@pytest.mark.parametrize("values,problem", [
    ({"grant_signing_key": SecretStr("c2VjcmV0LWtleS1tYXRlcmlhbA==")},
     "GRANT_SIGNING_KEY and GRANT_SIGNING_KEY_ID are set together"),
    ({"grant_signing_key": SecretStr("c2VjcmV0LWtleS1tYXRlcmlhbA=="),
      "grant_signing_key_id": "k1"}, "GRANT_SIGNING_KEY: a raw Ed25519 private key has 32"),
    ({"grant_signing_key": SecretStr("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"),
      "grant_signing_key_id": "k1"}, "GRANT_SIGNING_KEY: not an unencrypted PEM"),
    ({"grant_team_signing_keys": SecretStr('{"T1": {"kid": "k", "key": "c2VjcmV0"}}')},
     r"GRANT_TEAM_SIGNING_KEYS\[T1\]: a raw Ed25519 private key"),
    ({"grant_team_signing_keys": SecretStr('{"T1": "c2VjcmV0"}')},
     "GRANT_TEAM_SIGNING_KEYS must be JSON"),
])
def test_an_unusable_signing_key_is_refused_without_quoting_it(
        values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        Settings(_env_file=None, **values)  # type: ignore[arg-type]
    assert "c2VjcmV0" not in str(caught.value)


def test_keys_generate_prints_a_usable_pair() -> None:
    out = subprocess.run([sys.executable, "-m", "triage_approval", "keys", "generate",
                          "--json", "--team", "T_ACME"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    printed = json.loads(out)
    private = load_private_key(printed["private_key_pem"], "printed")
    public = load_public_key(printed["public_key"])
    public.verify(private.sign(b"m"), b"m")  # the two halves belong together
    kid = printed["kid"]
    assert printed["grant_public_keys_entry"] == {
        kid: {"key": printed["public_key"], "team": "T_ACME"}}
    # Pasted into the settings as printed, they sign and verify.
    pair = GrantKeyPair(kid, private, "T_ACME")
    keyring = Keyring.from_specs({k: PublicKeySpec(**v)
                                  for k, v in printed["grant_public_keys_entry"].items()})
    assert verify(keyring, signer_settings(pair), team="T_ACME").kid == kid


def test_keys_generate_text_names_where_each_half_goes() -> None:
    out = subprocess.run([sys.executable, "-m", "triage_approval", "keys", "generate",
                          "--kid", "2026-12"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert "GRANT_SIGNING_KEY_ID=2026-12" in out and "-----BEGIN PRIVATE KEY-----" in out
    entry = json.loads(out.strip().splitlines()[-1])
    assert list(entry) == ["2026-12"] and entry["2026-12"]["team"] is None


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_table_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding the approvals table as the HMAC release created it."""
    old = ("CREATE TABLE approvals (approval_id VARCHAR(128) PRIMARY KEY, "
           "signature VARCHAR(128))")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/approval.db"
        with make_engine(url).begin() as conn:
            conn.execute(text(old))
        yield url
        return
    schema = f"approval_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        with make_engine(url).begin() as conn:
            conn.execute(text(old))
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_an_older_table_gains_the_grant_columns(old_table_url: str) -> None:
    engine = make_engine(old_table_url)
    create_schema(engine)
    create_schema(engine)  # idempotent: a restart (or a second replica) changes nothing
    columns = {c["name"] for c in inspect(engine).get_columns("approvals")}
    assert {"grant_kid", "grant_expires_at", "signature"} <= columns
    engine.dispose()
