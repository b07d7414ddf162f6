"""The Slack app manifest agrees with the code: the events it subscribes to are the ones
the ingress turns into requests, its bot scopes are what the OAuth install asks for, and
every URL in it is a route the ingress app serves. The committed `slack/manifest.yaml` is
the current rendering (re-render it with the command in its header)."""

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml
from triage_ingress import assistant, lifecycle, manifest
from triage_ingress.normalize import Ignored, from_event_callback
from triage_ingress.settings import DEFAULT_SCOPES
from triage_sandbox.slack_events import app_mention, direct_message, thread_reply

from .conftest import StartIngress

ROOT = Path(__file__).resolve().parents[3]
BASE = "https://triage.acme.example"
# One Events API payload per subscribed event, as Slack sends it.
SAMPLES = {
    "app_mention": app_mention("T1", "C1", "U1", "why is checkout-api failing?"),
    "message.channels": thread_reply("T1", "C1", "U1", "since when?", "1700000000.000100"),
    "message.im": direct_message("T1", "D1", "U1", "why is checkout-api failing?"),
}


def test_the_committed_manifest_is_the_current_rendering() -> None:
    committed = (ROOT / "slack" / "manifest.yaml").read_text()
    assert committed == manifest.render(manifest.EXAMPLE_BASE_URL, oauth=True), (
        "slack/manifest.yaml is stale: python -m triage_ingress manifest "
        f"--base-url {manifest.EXAMPLE_BASE_URL} --oauth > slack/manifest.yaml")


def test_every_subscribed_event_is_handled() -> None:
    events = manifest.build(BASE)["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == sorted([*SAMPLES, *lifecycle.EVENTS, *assistant.EVENTS])
    for name in SAMPLES:
        outcome = from_event_callback(SAMPLES[name])
        assert not isinstance(outcome, Ignored), (name, outcome)
    # The lifecycle and assistant events are handled before normalisation
    # (test_lifecycle.py, test_assistant.py).


def test_the_bot_scopes_are_what_the_install_asks_for() -> None:
    scopes = manifest.build(BASE)["oauth_config"]["scopes"]["bot"]
    assert set(scopes) == set(DEFAULT_SCOPES.split(","))
    # Each subscribed event needs its scope, or Slack refuses to save the manifest.
    assert {"app_mentions:read", "channels:history", "im:history", "commands",
            "chat:write"} <= set(scopes)


def test_public_channels_add_chat_write_public_and_nothing_else() -> None:
    plain = manifest.build(BASE)["oauth_config"]["scopes"]["bot"]
    public = manifest.build(BASE, public_channels=True)["oauth_config"]["scopes"]["bot"]
    assert "chat:write.public" not in plain  # opt-in: admins may refuse apps that post anywhere
    assert public == [*plain, "chat:write.public"]


async def test_every_url_is_served_by_the_ingress(start_ingress: StartIngress,
                                                  tmp_path: Path) -> None:
    ingress = await start_ingress(slack_client_id="123.456", slack_client_secret="c-secret",
                                  database_url=f"sqlite:///{tmp_path}/installs.db")
    data = manifest.build(BASE, oauth=True)
    wanted = [
        (data["settings"]["event_subscriptions"]["request_url"], "POST", 401),
        (data["settings"]["interactivity"]["request_url"], "POST", 401),
        (data["features"]["slash_commands"][0]["url"], "POST", 401),
        # Slack's redirect without the state the install started: refused, not missing.
        (data["oauth_config"]["redirect_urls"][0], "GET", 400),
    ]
    for url, method, refusal in wanted:
        assert url.startswith(BASE + "/"), url
        resp = await ingress.http.request(method, urlparse(url).path)  # unsigned
        assert resp.status_code == refusal, (url, resp.status_code, resp.text[:200])


def test_without_oauth_there_is_no_redirect_url() -> None:
    assert "redirect_urls" not in manifest.build(BASE)["oauth_config"]


def test_the_cli_prints_yaml_and_json_for_a_host() -> None:
    run = [sys.executable, "-m", "triage_ingress", "manifest", "--base-url", BASE + "/"]
    as_yaml = subprocess.run(run, capture_output=True, text=True, timeout=240, check=True)
    parsed = yaml.safe_load(as_yaml.stdout)
    assert parsed["settings"]["event_subscriptions"]["request_url"] == BASE + "/slack/events"
    assert parsed["features"]["slash_commands"][0]["command"] == "/triage"
    as_json = subprocess.run([*run, "--json", "--oauth"], capture_output=True, text=True,
                             timeout=240, check=True)
    assert json.loads(as_json.stdout)["oauth_config"]["redirect_urls"] == [
        BASE + "/slack/oauth_redirect"]


def test_socket_mode_has_no_request_urls() -> None:
    data = manifest.build(BASE, socket_mode=True)
    assert data["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in data["settings"]["event_subscriptions"]
    assert "request_url" not in data["settings"]["interactivity"]
    assert "url" not in data["features"]["slash_commands"][0]
    assert data["settings"]["event_subscriptions"]["bot_events"] == list(manifest.BOT_EVENTS)
