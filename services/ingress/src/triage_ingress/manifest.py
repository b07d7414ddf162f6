"""The Slack app manifest, built from the code that serves it, so the app a company creates
asks for exactly the events, scopes and URLs this ingress handles.

`python -m triage_ingress manifest --base-url https://triage.acme.example [--oauth]`
prints it (YAML, or `--json`); `slack/manifest.yaml` in the repository is its rendering
for https://triage.example.com, kept current by the ingress tests.
"""

from typing import Any

from .assistant import EVENTS as ASSISTANT_EVENT_SET
from .assistant import PROMPTS
from .oauth import REDIRECT_PATH
from .settings import DEFAULT_SCOPES

EVENTS_PATH = "/slack/events"
COMMANDS_PATH = "/slack/commands"
INTERACTIVITY_PATH = "/slack/interactivity"
COMMAND = "/triage"
# The events normalize.py turns into requests: mentions, thread follow-ups in public
# channels (where channels:history delivers them) and direct messages.
REQUEST_EVENTS = ("app_mention", "message.channels", "message.im")
# The app's own removal (lifecycle.py deletes the workspace's stored credentials).
LIFECYCLE_EVENTS = ("app_uninstalled", "tokens_revoked")
# The app's assistant view opening a thread (assistant.py answers with suggested prompts).
ASSISTANT_EVENTS = tuple(sorted(ASSISTANT_EVENT_SET))
BOT_EVENTS = REQUEST_EVENTS + LIFECYCLE_EVENTS + ASSISTANT_EVENTS
EXAMPLE_BASE_URL = "https://triage.example.com"

HEADER = """\
# The Slack app, as a manifest (https://api.slack.com/reference/manifests). Create the app
# at https://api.slack.com/apps -> "Create New App" -> "From an app manifest" and paste it.
# Rendered for {base} by
#   python -m triage_ingress manifest --base-url {base}{oauth_flag}
# Render it for your own host the same way rather than editing the URLs by hand.
"""

LONG_DESCRIPTION = (
    "Ask in a channel (@Triage why is checkout-api failing?), with /triage, or in a direct "
    "message. The agent reads GitHub (issues, pull requests, commits, CI runs and logs), "
    "Prometheus and Alertmanager, answers in the thread with links to what it read, and "
    "asks a human to approve anything that would write (a comment, a label) before doing "
    "it. Every step is recorded in a tamper-evident audit log.")

ASSISTANT_DESCRIPTION = ("Ask why CI is failing, what broke in production, or about a pull "
                         "request or an issue: answers cite what was read.")


# Posting into public channels the bot was never added to (a /triage typed anywhere gets
# its answer in the channel, not through the command's response_url): opt-in, since many
# workspaces' admins refuse apps that can post everywhere.
PUBLIC_CHANNELS_SCOPE = "chat:write.public"


def bot_scopes(public_channels: bool = False) -> list[str]:
    scopes = [s.strip() for s in DEFAULT_SCOPES.split(",") if s.strip()]
    return [*scopes, PUBLIC_CHANNELS_SCOPE] if public_channels else scopes


def build(base_url: str, oauth: bool = False, token_rotation: bool = False,
          socket_mode: bool = False, public_channels: bool = False) -> dict[str, Any]:
    base = base_url.rstrip("/")
    manifest: dict[str, Any] = {
        "_metadata": {"major_version": 2, "minor_version": 1},
        "display_information": {
            "name": "Triage",
            "description": "Engineering triage from GitHub and observability, with human "
                           "approval for writes.",
            "background_color": "#1d3557",
            "long_description": LONG_DESCRIPTION,
        },
        "features": {
            "app_home": {"home_tab_enabled": False, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": "triage", "always_online": True},
            # Slack's Agents & AI Apps view: a DM thread with status, title and prompts.
            "assistant_view": {"assistant_description": ASSISTANT_DESCRIPTION,
                               "suggested_prompts": [dict(p) for p in PROMPTS]},
            "slash_commands": [{
                "command": COMMAND, "url": base + COMMANDS_PATH,
                "description": "Ask the triage agent about an engineering problem",
                "usage_hint": "why is checkout-api failing since this morning?",
                "should_escape": False}],
        },
        "oauth_config": {"scopes": {"bot": bot_scopes(public_channels)}},
        "settings": {
            "event_subscriptions": {"request_url": base + EVENTS_PATH,
                                    "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": base + INTERACTIVITY_PATH},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            # Tokens that expire every 12 hours; the notifier refreshes them (token_rotation.py).
            "token_rotation_enabled": token_rotation,
        },
    }
    if oauth:  # installs into many workspaces go through the ingress's OAuth v2 flow
        manifest["oauth_config"]["redirect_urls"] = [base + REDIRECT_PATH]
    if socket_mode:  # Slack sends everything over the WebSocket: no request URLs
        settings = manifest["settings"]
        settings["socket_mode_enabled"] = True
        del settings["event_subscriptions"]["request_url"]
        del settings["interactivity"]["request_url"]
        del manifest["features"]["slash_commands"][0]["url"]
    return manifest


def render(base_url: str, oauth: bool = False, as_json: bool = False,
           token_rotation: bool = False, socket_mode: bool = False,
           public_channels: bool = False) -> str:
    import json

    import yaml

    data = build(base_url, oauth, token_rotation, socket_mode, public_channels)
    if as_json:
        return json.dumps(data, indent=2) + "\n"
    header = HEADER.format(base=base_url.rstrip("/"), oauth_flag=" --oauth" if oauth else "")
    return header + yaml.safe_dump(data, sort_keys=False, width=88)
