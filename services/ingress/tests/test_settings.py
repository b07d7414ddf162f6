"""Roles and start-up checks: one image, three ways to run; production refuses defaults."""

import pytest
from nats.js.errors import NotFoundError
from pydantic import SecretStr
from triage_ingress.app import build_app
from triage_ingress.settings import Role, Settings

REAL_TOKEN = SecretStr("xoxb-111-222-real")
REAL_SECRET = SecretStr("8f14e45fceea167a5a36dedd4bea2543")


def prod(**values: object) -> Settings:
    base = {"environment": "production"}
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


async def test_team_scope_limits_the_consumer_and_the_edge(start_ingress) -> None:
    app = await start_ingress(team_scope="T0TEST")
    info = await app.js.consumer_info("WORK", "notifier-T0TEST")
    assert info.config.filter_subject == "triage.work.notify.T0TEST.>"
    body = (b'{"type":"event_callback","team_id":"TOTHER","event_id":"Ev9","event":'
            b'{"type":"app_mention","user":"U1","text":"hi","ts":"1.1","channel":"C1"}}')
    resp = await app.post("/slack/events", body)
    assert resp.status_code == 403
    assert await app.stream("EVENTS") == []
