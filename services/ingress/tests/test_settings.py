"""Roles and start-up checks: one image, three ways to run; production refuses defaults."""

import pytest
from nats.js.errors import NotFoundError
from pydantic import SecretStr
from triage_contracts.testing import PRODUCTION_NATS
from triage_ingress.app import build_app
from triage_ingress.settings import Role, Settings
from triage_ingress.vault import new_key_entry

REAL_TOKEN = SecretStr("xoxb-111-222-real")
REAL_SECRET = SecretStr("8f14e45fceea167a5a36dedd4bea2543")


def prod(**values: object) -> Settings:
    base = {"environment": "production", **PRODUCTION_NATS}
    return Settings(_env_file=None, **(base | values))  # type: ignore[arg-type]


@pytest.mark.parametrize("values,missing", [
    ({"slack_bot_token": REAL_TOKEN}, "SLACK_SIGNING_SECRET"),
    ({"slack_signing_secret": REAL_SECRET}, "SLACK_BOT_TOKEN"),
    ({"slack_signing_secret": REAL_SECRET, "slack_bot_token": SecretStr("xoxb-sandbox-1")},
     "SLACK_BOT_TOKEN"),
    ({"role": Role.EDGE, "slack_signing_secret": SecretStr("sandbox-abc")},
     "SLACK_SIGNING_SECRET"),
    ({"role": Role.NOTIFIER}, "SLACK_BOT_TOKEN"),
])
def test_production_refuses_to_start_without_slack_secrets(values, missing) -> None:
    # Refused when the settings are built, before anything starts.
    with pytest.raises(ValueError, match=missing):
        build_app(prod(**values))


def test_production_roles_need_only_their_own_secret() -> None:
    assert build_app(prod(role=Role.EDGE, slack_signing_secret=REAL_SECRET))
    assert build_app(prod(role=Role.NOTIFIER, slack_bot_token=REAL_TOKEN))


def test_development_starts_without_secrets() -> None:
    app = build_app(Settings(_env_file=None))  # type: ignore[call-arg]
    assert app.state.edge.verifier is None and app.state.notifier.slack is None


async def test_edge_role_serves_http_and_consumes_no_work(start_ingress) -> None:
    edge = await start_ingress(role="edge")
    assert (await edge.http.get("/readyz")).status_code == 200
    with pytest.raises(NotFoundError):
        await edge.js.consumer_info("WORK", "notifier")


async def test_notifier_role_consumes_notify_and_serves_no_slack_endpoints(start_ingress):
    notifier = await start_ingress(role="notifier")
    assert (await notifier.http.post("/slack/events", content=b"{}")).status_code == 404
    info = await notifier.js.consumer_info("WORK", "notifier")
    assert info.config.filter_subject == "triage.work.notify.>"
    assert (await notifier.http.get("/healthz")).json() == {"status": "ok"}


@pytest.mark.nats_teams("T0TEST")  # a team-scoped release's matrix names its consumers
async def test_team_scope_limits_the_consumer_and_the_edge(start_ingress) -> None:
    app = await start_ingress(team_scope="T0TEST")
    info = await app.js.consumer_info("WORK", "notifier-T0TEST")
    assert info.config.filter_subject == "triage.work.notify.T0TEST.>"
    body = (b'{"type":"event_callback","team_id":"TOTHER","event_id":"Ev9","event":'
            b'{"type":"app_mention","user":"U1","text":"hi","ts":"1.1","channel":"C1"}}')
    resp = await app.post("/slack/events", body)
    assert resp.status_code == 403
    assert await app.stream("EVENTS") == []


PG = "postgresql+psycopg://triage@db.internal:5432/triage"
OAUTH = {"slack_signing_secret": REAL_SECRET, "slack_client_id": "123.456",
         "slack_client_secret": SecretStr("0cc175b9c0f1b6a831c399e269772661")}


def test_production_oauth_needs_postgresql_and_a_real_vault_key() -> None:
    keys = SecretStr(new_key_entry("k2026"))
    assert build_app(prod(**OAUTH, database_url=PG, vault_master_keys=keys))
    with pytest.raises(ValueError) as refused:
        prod(**OAUTH, database_url="sqlite:///./.triage/ingress.db")
    assert "DATABASE_URL must be PostgreSQL" in str(refused.value)
    assert "not sqlite" in str(refused.value) and "VAULT_MASTER_KEYS must be set" in str(
        refused.value)
    dev_key = SecretStr(f"{new_key_entry('k1')},{new_key_entry('dev-only')}")
    with pytest.raises(ValueError, match="VAULT_MASTER_KEYS must not hold the 'dev-only' key"):
        prod(**OAUTH, database_url=PG, vault_master_keys=dev_key)


def test_production_refuses_a_sandbox_bot_token_even_with_oauth() -> None:
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN is blank or a development value"):
        prod(**OAUTH, database_url=PG, vault_master_keys=SecretStr(new_key_entry("k1")),
             slack_bot_token=SecretStr("xoxb-sandbox-t0-123"))


def test_a_malformed_vault_key_is_refused_everywhere_without_echoing_it() -> None:
    short = "c2hvcnQta2V5"  # 9 bytes
    with pytest.raises(ValueError, match="key 'k1' must be 32 bytes, not 9") as refused:
        Settings(_env_file=None, vault_master_keys=f"k1:{short}")  # type: ignore[call-arg]
    assert short not in str(refused.value)


def test_development_seals_with_the_labelled_development_key() -> None:
    settings = Settings(_env_file=None, **OAUTH)  # type: ignore[call-arg]
    vault = settings.vault()
    assert vault.keys.ids == ["dev-only"] and vault.allow_plaintext
    assert not prod(**OAUTH, database_url=PG,
                    vault_master_keys=SecretStr(new_key_entry("k1"))).vault().allow_plaintext


def test_production_edge_with_a_client_id_needs_the_client_secret() -> None:
    with pytest.raises(ValueError, match="SLACK_CLIENT_SECRET must be set with SLACK_CLIENT_ID"):
        prod(role=Role.EDGE, slack_signing_secret=REAL_SECRET, slack_client_id="123.456",
             database_url=PG, vault_master_keys=SecretStr(new_key_entry("k1")))
