"""The OAuth v2 install flow end to end: the ingress and the Slack stand-in both under real
uvicorn, real nats-server, a real SQLite file (and PostgreSQL) for slack-sdk's stores, and
httpx playing the browser (following the redirects, keeping the state cookie). The notifier
then speaks to the installed team with that team's own token, which the database holds
only sealed by the connector vault."""

import json
import logging
import time
from typing import Any

import httpx
import pytest
from nats.js.errors import KeyNotFoundError
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from triage_contracts import subjects
from triage_contracts.bus import publish
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import new_id
from triage_contracts.messages import (
    AuditEvent,
    AuditKind,
    InstallEvent,
    InstallKind,
    NotifyRequest,
    NotifyResult,
)
from triage_contracts.testing import PRODUCTION_NATS
from triage_ingress.app import build_app
from triage_ingress.settings import DEFAULT_SCOPES, Role, Settings
from triage_ingress.vault import new_key_entry
from triage_sandbox.slack_api import FaultSpec

NEW_TEAM = "T0NEW"
DEFAULT_TEAM = "T0TEST"  # the team of the stand-in's single-workspace bot token
CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
COOKIE = "slack-app-oauth-state"


@pytest.fixture
def start_oauth_ingress(start_ingress, slack_api, tmp_path):
    async def start(**overrides: Any):
        values = {"slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET,
                  "slack_api_url": slack_api.api_url,
                  "slack_oauth_url": f"{slack_api.url}/sandbox/oauth/authorize",
                  "database_url": f"sqlite:///{tmp_path}/db/ingress.db", **overrides}
        return await start_ingress(**values)

    return start


@pytest.fixture
async def browser():
    async with httpx.AsyncClient(follow_redirects=True, timeout=20) as client:
        yield client


async def install(ingress, browser: httpx.AsyncClient, team: str = NEW_TEAM) -> httpx.Response:
    return await browser.get(f"{ingress.url}/slack/install", params={"team": team})


def installed(ingress, team: str = NEW_TEAM):
    return ingress.app.state.stores.installations.find_installation(
        enterprise_id=None, team_id=team)


async def install_events(ingress) -> list[tuple[str, InstallEvent]]:
    """What the install controller would read: (subject, event), oldest first."""
    return [(m.subject, InstallEvent.model_validate_json(m.data))
            for m in await ingress.stream("INSTALLS")]


def exchanges(slack_api) -> list[dict[str, Any]]:
    return [c for c in slack_api.state.calls if c["method"] == "oauth.v2.access"]


async def test_install_stores_the_team_token_and_audits_without_it(
        start_oauth_ingress, slack_api, browser) -> None:
    ingress = await start_oauth_ingress()
    page = await install(ingress, browser)
    assert page.status_code == 200 and "Thank you!" in page.text
    assert [r.url.path for r in page.history] == ["/slack/install", "/sandbox/oauth/authorize"]
    authorize = page.history[1].request.url.params
    assert (authorize["client_id"], authorize["scope"]) == (CLIENT_ID, DEFAULT_SCOPES)
    assert authorize["redirect_uri"] == f"{ingress.url}/slack/oauth_redirect"

    [(token, issued)] = slack_api.state.installed.items()
    found = installed(ingress)
    assert found is not None and found.bot_token == token and issued["team_id"] == NEW_TEAM
    assert (found.team_name, found.user_id, found.app_id) == ("Sandbox T0NEW", "U_LEAD",
                                                              "ASANDBOX")
    assert found.bot_scopes == DEFAULT_SCOPES.split(",")
    [call] = exchanges(slack_api)
    assert call["result"] == "ok" and call["args"]["redirect_uri"] == authorize["redirect_uri"]

    audits = [AuditEvent.model_validate_json(m.data) for m in await ingress.stream("AUDIT")]
    [audit] = [a for a in audits if a.action == "slack.install"]
    assert (audit.team_id, audit.audit_kind, audit.actor) == (NEW_TEAM, AuditKind.REQUEST,
                                                              "U_LEAD")
    assert all(token not in m.data.decode() for m in await ingress.stream("AUDIT"))
    # The deployment side is told, after the token was stored, and never sees the token.
    [(subject, event)] = await install_events(ingress)
    assert subject == f"triage.install.{NEW_TEAM}.installed"
    assert (event.install_kind, event.team_id, event.team_name, event.enterprise_id) == (
        InstallKind.INSTALLED, NEW_TEAM, "Sandbox T0NEW", None)
    assert all(token not in m.data.decode() for m in await ingress.stream("INSTALLS"))


async def test_debug_logging_shows_neither_the_token_nor_the_client_secret(
        start_oauth_ingress, slack_api, browser, caplog) -> None:
    """slack-sdk logs request and response bodies at DEBUG; not those of the exchange."""
    caplog.set_level(logging.DEBUG)
    ingress = await start_oauth_ingress()
    assert (await install(ingress, browser)).status_code == 200
    [token] = slack_api.state.installed
    assert len(exchanges(slack_api)) == 1 and "httpcore" in caplog.text  # DEBUG was on
    assert token not in caplog.text and CLIENT_SECRET not in caplog.text


async def test_replayed_state_is_refused_and_nothing_is_exchanged(
        start_oauth_ingress, slack_api, browser) -> None:
    ingress = await start_oauth_ingress()
    done = await install(ingress, browser)
    state = done.url.params["state"]
    browser.cookies.set(COOKIE, state)  # even the same browser may not use it twice
    replay = await browser.get(done.url)
    assert replay.status_code == 400 and "invalid_state" in replay.text
    assert len(exchanges(slack_api)) == 1 and len(slack_api.state.installed) == 1


async def test_forged_state_is_refused(start_oauth_ingress, slack_api, browser) -> None:
    ingress = await start_oauth_ingress()
    forged = "4c1e7d2a-forged-state"
    browser.cookies.set(COOKIE, forged)  # the browser check passes; the store does not know it
    page = await browser.get(f"{ingress.url}/slack/oauth_redirect",
                             params={"code": "123.abc", "state": forged})
    assert page.status_code == 400 and "invalid_state" in page.text
    assert exchanges(slack_api) == [] and installed(ingress) is None


async def test_state_from_another_browser_is_refused(start_oauth_ingress, slack_api) -> None:
    """A state issued to someone else's browser (no matching cookie here) is not consumed."""
    ingress = await start_oauth_ingress()
    async with httpx.AsyncClient(timeout=20) as attacker, \
            httpx.AsyncClient(timeout=20) as victim:
        start = await attacker.get(f"{ingress.url}/slack/install")
        consent = await attacker.get(start.headers["location"])
        page = await victim.get(consent.headers["location"])
    assert page.status_code == 400 and "invalid_browser" in page.text
    assert exchanges(slack_api) == []


async def test_bad_client_secret_shows_slacks_reason(start_oauth_ingress, slack_api, browser):
    ingress = await start_oauth_ingress(slack_client_secret="not-the-secret")
    page = await install(ingress, browser)
    assert page.status_code == 400 and "bad_client_secret" in page.text
    assert installed(ingress) is None and slack_api.state.installed == {}


def notify(team: str, step: str) -> NotifyRequest:
    return NotifyRequest(team_id=team, run_id="run-oauth", step_id=step, channel_id="C_TRIAGE",
                         thread_ts="1732540000.000100", text=f"reply for {team}")


async def notify_results(ingress, requests: list[NotifyRequest], wait_until) -> list[NotifyResult]:
    for req in requests:
        await publish(ingress.admin, req, subjects.work("notify", req.team_id, "reply"),
                      msg_id=new_id())

    async def all_in() -> bool:
        return len(await ingress.stream("RESULTS")) >= len(requests)

    await wait_until(all_in)
    found = [NotifyResult.model_validate_json(m.data) for m in await ingress.stream("RESULTS")]
    return sorted(found, key=lambda r: r.step_id)


async def test_notifier_posts_with_the_installed_teams_token(
        start_oauth_ingress, slack_api, browser, wait_until) -> None:
    ingress = await start_oauth_ingress()  # also has the default SLACK_BOT_TOKEN
    assert (await install(ingress, browser)).status_code == 200
    new, default = await notify_results(
        ingress, [notify(NEW_TEAM, "a-new"), notify(DEFAULT_TEAM, "b-default")], wait_until)
    assert new.ok and default.ok
    posts = {c["args"]["text"]: c["team"] for c in slack_api.posts()}
    # The stand-in knows which team's token made each call: the installed one for T0NEW.
    assert posts == {"reply for T0NEW": NEW_TEAM, "reply for T0TEST": DEFAULT_TEAM}


async def test_team_without_installation_or_default_token_is_told(
        start_oauth_ingress, slack_api, wait_until) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None, role="notifier")
    [result] = await notify_results(ingress, [notify("T0NONE", "a")], wait_until)
    assert (result.ok, result.error) == (False, "workspace T0NONE is not installed")
    assert slack_api.posts() == []


def test_production_notifier_may_run_on_installations_alone() -> None:
    """...and without the client secret: only the edge exchanges codes."""
    settings = Settings(_env_file=None, environment="production", role=Role.NOTIFIER,  # type: ignore[call-arg]
                        slack_client_id="123.456",
                        vault_master_keys=SecretStr(new_key_entry("k1")),
                        database_url="postgresql+psycopg://triage@db.example/triage",
                        **PRODUCTION_NATS)
    app = build_app(settings)
    assert app.state.notifier.slack is None and app.state.stores is not None


def test_without_client_credentials_there_is_no_install_endpoint() -> None:
    app = build_app(Settings(_env_file=None))  # type: ignore[call-arg]
    assert app.state.stores is None
    assert "/slack/install" not in {getattr(r, "path", "") for r in app.routes}


def database_text(database_url: str) -> str:
    """Every row of the OAuth stores' tables, as one text (what a backup would hold)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = [str(tuple(row)) for table in ("slack_installations", "slack_bots",
                                               "slack_oauth_states")
                for row in conn.execute(text(f"SELECT * FROM {table}"))]
    engine.dispose()
    return "\n".join(rows)


async def test_the_database_holds_no_plaintext_token_after_an_install(
        start_oauth_ingress, slack_api, browser, database_url, wait_until) -> None:
    ingress = await start_oauth_ingress(database_url=database_url,
                                        vault_master_keys=new_key_entry("k1"))
    assert (await install(ingress, browser)).status_code == 200
    [token] = slack_api.state.installed
    stored = database_text(database_url)
    assert token not in stored and stored.count("vault:1:k1:") == 2  # installation + bot
    [result] = await notify_results(ingress, [notify(NEW_TEAM, "a")], wait_until)
    assert result.ok and [p["team"] for p in slack_api.posts()] == [NEW_TEAM]


async def test_a_token_the_vault_refuses_is_reported_not_replaced(
        start_oauth_ingress, slack_api, browser, tmp_path, wait_until) -> None:
    """Installed under one master key, read under another: the run is told, and the
    default SLACK_BOT_TOKEN is not used instead (it would speak as another app)."""
    url = f"sqlite:///{tmp_path}/db/ingress.db"
    edge = await start_oauth_ingress(database_url=url, vault_master_keys=new_key_entry("k1"),
                                     role="edge")
    assert (await install(edge, browser)).status_code == 200
    notifier = await start_oauth_ingress(database_url=url, role="notifier",
                                         vault_master_keys=new_key_entry("k1"))
    [result] = await notify_results(notifier, [notify(NEW_TEAM, "a")], wait_until)
    assert (result.ok, result.error) == (
        False, f"workspace {NEW_TEAM}: its stored token is unusable (Tampered)")
    assert slack_api.posts() == []


# --- the app removed from a workspace: app_uninstalled, tokens_revoked -------------------


def lifecycle_event(event: dict[str, Any], team: str = NEW_TEAM,
                    event_id: str = "Ev0UNINSTALL") -> bytes:
    return json.dumps({"type": "event_callback", "team_id": team, "api_app_id": "ASANDBOX",
                       "event_id": event_id, "event_time": 1732540000,
                       "event": event}).encode()


async def lifecycle_audits(ingress) -> list[AuditEvent]:
    audits = [AuditEvent.model_validate_json(m.data) for m in await ingress.stream("AUDIT")]
    return [a for a in audits if a.action in ("slack.app_uninstalled", "slack.tokens_revoked")]


async def test_uninstall_deletes_the_teams_credentials_and_audits_it(
        start_oauth_ingress, slack_api, browser, wait_until) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None)
    assert (await install(ingress, browser)).status_code == 200
    assert installed(ingress) is not None
    body = lifecycle_event({"type": "app_uninstalled"})
    for _ in range(2):  # Slack's retry deletes nothing twice and is audited once
        resp = await ingress.post("/slack/events", body)
        assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert installed(ingress) is None
    assert ingress.app.state.stores.installations.find_bot(
        enterprise_id=None, team_id=NEW_TEAM) is None
    [audit] = await lifecycle_audits(ingress)
    assert (audit.team_id, audit.actor, audit.detail["credentials_deleted"]) == (
        NEW_TEAM, "slack", True)
    [token] = slack_api.state.installed
    assert token not in audit.model_dump_json()
    # One removal event for both deliveries (Slack's event id is the Nats-Msg-Id).
    kinds = [(s, e.install_kind, e.event_id) for s, e in await install_events(ingress)]
    assert kinds == [(f"triage.install.{NEW_TEAM}.installed", InstallKind.INSTALLED,
                      kinds[0][2]),
                     (f"triage.install.{NEW_TEAM}.uninstalled", InstallKind.UNINSTALLED,
                      "Ev0UNINSTALL")]
    # A reply still on its way to the removed workspace is told why it cannot be posted.
    [result] = await notify_results(ingress, [notify(NEW_TEAM, "a")], wait_until)
    assert (result.ok, result.error) == (False, f"workspace {NEW_TEAM} is not installed")


@pytest.mark.parametrize(("tokens", "deleted"), [
    ({"oauth": [], "bot": ["U_BOT_SANDBOX"]}, True),
    ({"oauth": ["U_LEAD"]}, False),  # user tokens only: the bot still speaks for the team
])
async def test_revoked_tokens_delete_the_bot_only_when_the_bot_token_went(
        start_oauth_ingress, browser, tokens: dict[str, list[str]], deleted: bool) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None)
    assert (await install(ingress, browser)).status_code == 200
    resp = await ingress.post("/slack/events", lifecycle_event(
        {"type": "tokens_revoked", "tokens": tokens}, event_id="Ev0REVOKED"))
    assert resp.status_code == 200
    assert (installed(ingress) is None) is deleted
    [audit] = await lifecycle_audits(ingress)
    assert audit.action == "slack.tokens_revoked"
    assert audit.detail["credentials_deleted"] is deleted
    assert audit.detail["revoked"] == {k: len(v) for k, v in tokens.items()}
    removals = [e.install_kind for _, e in await install_events(ingress)][1:]
    assert removals == ([InstallKind.TOKENS_REVOKED] if deleted else [])


async def test_a_forged_uninstall_deletes_nothing(start_oauth_ingress, browser) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None)
    assert (await install(ingress, browser)).status_code == 200
    resp = await ingress.post("/slack/events", lifecycle_event({"type": "app_uninstalled"}),
                              secret="not-the-signing-secret")
    assert resp.status_code == 401
    assert installed(ingress) is not None and await lifecycle_audits(ingress) == []
    assert [e.install_kind for _, e in await install_events(ingress)] == [InstallKind.INSTALLED]


# --- Enterprise Grid ----------------------------------------------------------------------


async def install_in_org(ingress, browser: httpx.AsyncClient, **consent: str) -> httpx.Response:
    """The install flow with the choice made on Slack's consent page: an organisation
    (`enterprise`), org-wide (`org=1`) or one of its workspaces (`team`)."""
    start = await browser.get(f"{ingress.url}/slack/install", follow_redirects=False)
    assert start.status_code in (302, 307), start.text
    consent_url = httpx.URL(start.headers["location"]).copy_merge_params(consent)
    return await browser.get(consent_url)


def grid_notify(team: str, enterprise: str, step: str) -> NotifyRequest:
    return notify(team, step).model_copy(update={"enterprise_id": enterprise})


async def test_an_org_wide_grid_install_answers_in_every_workspace_of_the_org(
        start_oauth_ingress, slack_api, browser, wait_until) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None)
    page = await install_in_org(ingress, browser, enterprise="E0ACME", org="1")
    assert page.status_code == 200, page.text
    stored = ingress.app.state.stores.installations.find_installation(
        enterprise_id="E0ACME", team_id=None, is_enterprise_install=True)
    assert stored is not None and stored.is_enterprise_install and stored.team_id is None
    results = await notify_results(ingress, [
        grid_notify("T0EAST", "E0ACME", "a-east"), grid_notify("T0WEST", "E0ACME", "b-west"),
        notify("T0WEST", "c-no-enterprise")], wait_until)
    assert [(r.step_id, r.ok, r.error) for r in results] == [
        ("a-east", True, None), ("b-west", True, None),
        # Without its enterprise a request cannot use the org's token: told, not guessed.
        ("c-no-enterprise", False, "workspace T0WEST is not installed")]
    # The stand-in knows each call's token: the org-wide one, for both workspaces.
    assert sorted((c["args"]["text"], c["team"]) for c in slack_api.posts()) == [
        ("reply for T0EAST", "E0ACME"), ("reply for T0WEST", "E0ACME")]


async def test_a_workspace_install_inside_an_org_is_found_by_enterprise_and_team(
        start_oauth_ingress, slack_api, browser, wait_until) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None)
    page = await install_in_org(ingress, browser, enterprise="E0ACME", team="T0EAST")
    assert page.status_code == 200, page.text
    [result] = await notify_results(ingress, [grid_notify("T0EAST", "E0ACME", "a")], wait_until)
    assert result.ok, result.error
    assert [c["team"] for c in slack_api.posts()] == ["T0EAST"]


# --- token rotation -------------------------------------------------------------------------


async def test_an_expired_rotating_token_is_refreshed_once_for_a_burst_across_replicas(
        start_oauth_ingress, slack_api, browser, wait_until) -> None:
    """The app has token rotation on; the installed token has expired. Ten replies arrive
    at two notifier replicas at once: one refresh (refresh tokens are one-use), no failed
    post, every post made with the new token, which is stored for everyone."""
    slack_api.state.token_lifetime_s = 3600
    edge = await start_oauth_ingress(slack_bot_token=None, role="edge")
    assert (await install(edge, browser)).status_code == 200
    [old] = slack_api.state.installed
    slack_api.state.expires[old] = time.time() - 1  # expired: Slack answers token_expired
    slack_api.state.token_lifetime_s = 12 * 3600  # what the refresh hands out
    replicas = [await start_oauth_ingress(slack_bot_token=None, role="notifier")
                for _ in range(2)]
    results = await notify_results(replicas[0], [notify(NEW_TEAM, f"step-{i:02d}")
                                                 for i in range(10)], wait_until)
    assert [(r.ok, r.error) for r in results] == [(True, None)] * 10
    refreshes = [c for c in exchanges(slack_api) if c["args"]["grant_type"] == "refresh_token"]
    assert [c["result"] for c in refreshes] == ["ok"]
    [new] = [t for t in slack_api.state.installed if t != old]
    assert {c["team"] for c in slack_api.posts()} == {NEW_TEAM}
    assert len(slack_api.posts()) == 10
    stored = installed(edge)
    assert stored is not None and stored.bot_token == new
    assert stored.bot_token_expires_at is not None and stored.bot_token_expires_at > time.time()


async def test_a_token_far_from_expiry_is_not_refreshed(
        start_oauth_ingress, slack_api, browser, wait_until) -> None:
    slack_api.state.token_lifetime_s = 12 * 3600
    ingress = await start_oauth_ingress(slack_bot_token=None)
    assert (await install(ingress, browser)).status_code == 200
    [result] = await notify_results(ingress, [notify(NEW_TEAM, "a")], wait_until)
    assert result.ok
    assert [c["args"]["grant_type"] for c in exchanges(slack_api)] == [None]  # the install


async def test_a_refresh_claimed_by_another_replica_waits_and_a_dead_ones_is_taken_over(
        start_oauth_ingress, slack_api, browser) -> None:
    slack_api.state.token_lifetime_s = 3600  # inside the two-hour refresh window
    ingress = await start_oauth_ingress(slack_bot_token=None)
    assert (await install(ingress, browser)).status_code == 200
    notifier = ingress.app.state.notifier
    rotation, kv = notifier.teams.rotation, notifier.kv
    expiring = installed(ingress)
    key = f"notify.{NEW_TEAM}.token-rotation"
    await kv.put(key, json.dumps({"claimed_at": time.time()}).encode())  # alive elsewhere
    with pytest.raises(TemporaryError, match="another replica is refreshing"):
        await rotation.fresh(expiring)
    assert not [c for c in exchanges(slack_api) if c["args"]["grant_type"]]
    await kv.put(key, json.dumps({"claimed_at": time.time() - 600}).encode())  # it died
    refreshed = await rotation.fresh(expiring)
    assert refreshed.bot_token != expiring.bot_token
    assert [c["args"]["grant_type"] for c in exchanges(slack_api)] == [None, "refresh_token"]
    with pytest.raises(KeyNotFoundError):
        await kv.get(key)  # released


# --- who may install, and a token that must work before it is stored ----------------------


async def test_only_allowed_workspaces_may_install(start_oauth_ingress, slack_api,
                                                   browser) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None,
                                        slack_install_teams=f"T0OTHER, {NEW_TEAM}")
    assert (await install(ingress, browser, team="T0STRANGER")).status_code == 403
    assert installed(ingress, "T0STRANGER") is None
    audits = [AuditEvent.model_validate_json(m.data) for m in await ingress.stream("AUDIT")]
    [refusal] = [a for a in audits if a.action == "slack.install"]
    assert (refusal.team_id, refusal.outcome, refusal.detail["reason"]) == (
        "T0STRANGER", "denied", "team_not_allowed")
    assert (await install(ingress, browser)).status_code == 200
    assert installed(ingress) is not None


async def test_the_new_token_is_checked_with_auth_test_before_it_is_stored(
        start_oauth_ingress, slack_api, browser) -> None:
    ingress = await start_oauth_ingress(slack_bot_token=None)
    assert (await install(ingress, browser)).status_code == 200
    [check] = [c for c in slack_api.state.calls if c["method"] == "auth.test"]
    assert check["team"] == NEW_TEAM and check["result"] == "ok"
    slack_api.state.faults.append(FaultSpec(method="auth.test", error="invalid_auth"))
    page = await install(ingress, browser, team="T0BROKEN")
    assert page.status_code == 400 and "auth_test_invalid_auth" in page.text
    assert installed(ingress, "T0BROKEN") is None
