"""The sealed installation store on both backends (a SQLite file, a PostgreSQL schema):
what the database holds after a real OAuth install, rotation, the migration of plaintext
rows, and the refusals (tampered, copied to another team, wrong key). The install through
the real OAuth flow is in test_oauth.py."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import create_engine, inspect, text
from triage_ingress.rotation import key_ids_in_use, reencrypt
from triage_ingress.sealed_store import SealedInstallationStore
from triage_ingress.vault import MasterKeys as Keys
from triage_ingress.vault import PlaintextRefused, Tampered, UnknownKey, Vault, new_key_entry

CLIENT_ID = "123.456"
K1, K2 = new_key_entry("k1"), new_key_entry("k2")
SECRETS = {"bot_token": "xoxb-111-222-AbCdEfGhIjKlMnOpQrStUvWx",
           "bot_refresh_token": "xoxe-1-My0xLTEtYm90cmVmcmVzaHRva2VuLXZhbHVl",
           "user_token": "xoxp-111-333-444-0123456789abcdef0123456789abcdef",
           "user_refresh_token": "xoxe-1-My0xLTEtdXNlcnJlZnJlc2h0b2tlbi12YWx1ZQ",
           "incoming_webhook_url": "https://hooks.slack.com/services/T0A/B0A/XyZsecretPath"}


def sealed_store(database_url: str, *entries: str) -> SealedInstallationStore:
    """The store as production builds it (plaintext refused)."""
    vault = Vault(Keys.parse(SecretStr(",".join(entries))), allow_plaintext=False)
    store = SealedInstallationStore(CLIENT_ID, create_engine(database_url), vault)
    store.create_tables()
    return store


def installation(team: str = "T0A") -> Installation:
    return Installation(app_id="A0APP", team_id=team, team_name=f"team {team}",
                        user_id="U_LEAD", bot_user_id="UBOT", bot_id="B0A",
                        bot_scopes="chat:write", bot_token_expires_in=43200,
                        user_token_expires_in=43200, **SECRETS)


def everything(database_url: str) -> str:
    """Every value of every row of every table, as one text (what a backup would hold)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        tables = [t for t in ("slack_installations", "slack_bots", "slack_oauth_states")
                  if engine.dialect.has_table(conn, t)]
        rows = [str(tuple(r)) for t in tables for r in conn.execute(text(f"SELECT * FROM {t}"))]
    engine.dispose()
    return "\n".join(rows)


def token_column_length(database_url: str) -> int | None:
    engine = create_engine(database_url)
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("slack_installations")}
    engine.dispose()
    return getattr(columns["user_refresh_token"], "length", None)


def sql(database_url: str, statement: str, **params: Any) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_every_credential_is_sealed_and_opens(database_url: str) -> None:
    store = sealed_store(database_url, K1)
    store.save(installation())
    stored = everything(database_url)
    assert not [name for name, value in SECRETS.items() if value in stored]
    found = store.find_installation(enterprise_id=None, team_id="T0A")
    assert found is not None and {n: getattr(found, n) for n in SECRETS} == SECRETS
    bot = store.find_bot(enterprise_id=None, team_id="T0A")
    assert bot is not None and bot.bot_token == SECRETS["bot_token"]
    assert key_ids_in_use(store) == {"k1": 7}  # 5 in the installation, 2 in the bot row


def test_rotation_reseals_every_row_and_the_old_key_can_go(database_url: str) -> None:
    old = sealed_store(database_url, K1)
    for team in ("T0A", "T0B", "T0C"):
        old.save(installation(team))
    rotated = sealed_store(database_url, K2, K1)
    first = reencrypt(rotated)
    assert (first.rewrapped, first.encrypted, first.current, first.failed) == (21, 0, 0, [])
    again = reencrypt(rotated)  # idempotent
    assert (again.rewrapped, again.current) == (0, 21)
    assert key_ids_in_use(rotated) == {"k2": 21}
    new_only = sealed_store(database_url, K2)
    for team in ("T0A", "T0B", "T0C"):
        found = new_only.find_installation(enterprise_id=None, team_id=team)
        assert found is not None and found.user_refresh_token == SECRETS["user_refresh_token"]
    with pytest.raises(UnknownKey):  # what k1 alone can no longer read
        sealed_store(database_url, K1).find_installation(enterprise_id=None, team_id="T0A")


def test_plaintext_rows_are_refused_in_production_until_reencrypted(database_url: str):
    # Rows written by slack-sdk's plain store, before the vault (VARCHAR(200) columns).
    plain = SQLAlchemyInstallationStore(CLIENT_ID, create_engine(database_url))
    plain.create_tables()
    plain.save(installation())
    assert token_column_length(database_url) == 200
    store = sealed_store(database_url, K1)
    # Sealed values outgrow VARCHAR(200): PostgreSQL's columns are widened (SQLite does not
    # enforce lengths and keeps its declared type).
    postgres = database_url.startswith("postgresql")
    assert token_column_length(database_url) == (None if postgres else 200)
    with pytest.raises(PlaintextRefused, match="vault reencrypt"):
        store.find_installation(enterprise_id=None, team_id="T0A")
    counts = reencrypt(store)
    assert (counts.encrypted, counts.rewrapped, counts.failed) == (7, 0, [])
    assert not [name for name, value in SECRETS.items() if value in everything(database_url)]
    found = store.find_installation(enterprise_id=None, team_id="T0A")
    assert found is not None and found.bot_token == SECRETS["bot_token"]


def tamper(database_url: str, table: str, column: str, team: str) -> None:
    """Change one character in the middle of the ciphertext, as an editor of the DB would."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        value = conn.execute(text(f"SELECT {column} FROM {table} WHERE team_id = :t"),
                             {"t": team}).scalar_one()
        i = len(value) - 20
        edited = value[:i] + ("B" if value[i] == "A" else "A") + value[i + 1:]
        conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE team_id = :t"),
                     {"v": edited, "t": team})
    engine.dispose()


def test_tampered_or_copied_values_are_refused(database_url: str) -> None:
    store = sealed_store(database_url, K1)
    store.save(installation("T0A"))
    store.save(installation("T0B"))
    # Team B's row gets team A's (valid!) sealed bot token: it must not open as B's.
    sql(database_url, "UPDATE slack_bots SET bot_token = (SELECT bot_token FROM slack_bots "
        "WHERE team_id = 'T0A') WHERE team_id = 'T0B'")
    with pytest.raises(Tampered, match="copied from another record"):
        store.find_bot(enterprise_id=None, team_id="T0B")
    tamper(database_url, "slack_installations", "user_token", "T0A")
    with pytest.raises(Tampered, match="user_token of team T0A fails authentication"):
        store.find_installation(enterprise_id=None, team_id="T0A")
    # Rotation re-seals the rest, leaves both refused values untouched and says which.
    counts = reencrypt(sealed_store(database_url, K2, K1))
    assert counts.rewrapped == 12 and len(counts.failed) == 2
    assert {f.split(":")[0].rsplit(" ", 1)[1] for f in counts.failed} == {"bot_token",
                                                                          "user_token"}
    assert not any(value in "".join(counts.failed) for value in SECRETS.values())


def test_the_wrong_master_key_is_a_clear_error(database_url: str) -> None:
    sealed_store(database_url, K1).save(installation())
    impostor = sealed_store(database_url, new_key_entry("k1"))
    with pytest.raises(Tampered, match="does not open with master key 'k1'"):
        impostor.find_installation(enterprise_id=None, team_id="T0A")


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A real `python -m triage_ingress` process, in a folder of its own (no stray .env)."""
    return subprocess.run([sys.executable, "-m", "triage_ingress", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, **env})


def test_the_reencrypt_command_reports_counts_and_is_idempotent(database_url: str,
                                                                tmp_path: Path) -> None:
    sealed_store(database_url, K1).save(installation())
    env = {"DATABASE_URL": database_url, "SLACK_CLIENT_ID": CLIENT_ID,
           "VAULT_MASTER_KEYS": f"{K2},{K1}"}
    first = run_cli(tmp_path, "vault", "reencrypt", **env)
    assert first.returncode == 0, first.stderr
    assert "active key k2: encrypted=0 rewrapped=7 current=0 failed=0" in first.stdout
    second = run_cli(tmp_path, "vault", "reencrypt", **env)
    assert "rewrapped=0 current=7 failed=0" in second.stdout
    assert run_cli(tmp_path, "vault", "status", **env).stdout.strip() == "k2: 7"
    keygen = run_cli(tmp_path, "vault", "keygen", "--id", "k3")
    assert keygen.returncode == 0 and Keys.parse(SecretStr(keygen.stdout.strip())).ids == ["k3"]
    assert not any(k.split(":")[1] in first.stdout + first.stderr for k in (K1, K2))
