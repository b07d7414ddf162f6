"""Interactivity payloads exactly as Slack sends them to an app's Request URL: a button
click (`block_actions`) and a modal submission (`view_submission`), form-encoded as
`payload=<json>`. The shapes follow Slack's reference payloads, trimmed of fields no app
of ours reads but keeping every field a real app commonly does."""

import json
import time
from typing import Any
from urllib.parse import urlencode

from ..people import BY_ID
from ..slack_events import APP_ID
from ..slack_workspace import JsonDict, public

TOKEN = "deprecated-verification-token"


def _user(team_id: str, user_id: str) -> JsonDict:
    person = BY_ID.get(user_id)
    name = person.name if person else user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> JsonDict:
    return {"id": team_id, "domain": "sandbox"}


def find_button(message: JsonDict, action_id: str, block_id: str) -> JsonDict | None:
    """The button of `message` that was clicked (only buttons it really has can be)."""
    for block in message.get("blocks") or []:
        if not isinstance(block, dict) or str(block.get("block_id", "")) != block_id:
            continue
        elements = list(block.get("elements") or []) + [block.get("accessory") or {}]
        for element in elements:
            if (isinstance(element, dict) and element.get("type") == "button"
                    and element.get("action_id") == action_id):
                return dict(element)
    return None


def block_actions(team_id: str, user_id: str, message: JsonDict, button: JsonDict,
                  block_id: str, trigger_id: str, response_url: str) -> JsonDict:
    channel = message["channel"]
    container: JsonDict = {"type": "message", "message_ts": message["ts"],
                           "channel_id": channel, "is_ephemeral": False}
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    action: JsonDict = {"action_id": button.get("action_id"), "block_id": block_id,
                        "text": button.get("text"), "value": button.get("value", ""),
                        "type": "button", "action_ts": f"{time.time():.6f}"}
    if button.get("style"):
        action["style"] = button["style"]
    return {
        "type": "block_actions", "user": _user(team_id, user_id), "api_app_id": APP_ID,
        "token": TOKEN, "container": container, "trigger_id": trigger_id,
        "team": _team(team_id), "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": channel, "name": "triage" if channel.startswith("C") else
                    "directmessage"},
        "message": public(message), "state": {"values": {}}, "response_url": response_url,
        "actions": [action],
    }


def view_submission(team_id: str, user_id: str, view: JsonDict, trigger_id: str,
                    values: dict[str, dict[str, str]]) -> JsonDict:
    """`values` is block_id → action_id → typed text, from the modal's inputs."""
    state = {block_id: {action_id: {"type": "plain_text_input", "value": text}
                        for action_id, text in inputs.items()}
             for block_id, inputs in values.items()}
    return {
        "type": "view_submission", "team": _team(team_id), "user": _user(team_id, user_id),
        "api_app_id": APP_ID, "token": TOKEN, "trigger_id": trigger_id,
        "view": {**view, "state": {"values": state}}, "response_urls": [],
        "is_enterprise_install": False, "enterprise": None,
    }


def form_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()
