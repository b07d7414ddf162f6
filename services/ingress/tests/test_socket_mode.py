"""Socket Mode end to end: the ingress opens a WebSocket to the Slack stand-in (real
uvicorn, real slack-sdk Socket Mode client, real nats-server) and receives events, slash
commands and interactions over it; each envelope is acknowledged once its request is in
JetStream, a retried envelope is one run, and the client reconnects when asked."""

from typing import Any

import httpx
from triage_contracts.messages import TriageRequest
from triage_sandbox.slack_events import app_mention, direct_message

from .conftest import TEAM, SlackStandIn, StartIngress

APP_TOKEN = "xapp-1-sandbox-app-token"  # the stand-in's default app-level token


async def connected(start_ingress: StartIngress, slack_api: SlackStandIn, wait_until,
                    **overrides: Any):
    ingress = await start_ingress(role="edge", slack_app_token=APP_TOKEN,
                                  slack_api_url=slack_api.api_url, **overrides)
    hub = slack_api.socket
    assert hub is not None

    async def ready() -> bool:
        return bool(hub.connections)

    await wait_until(ready, within=60)
    return ingress


async def deliver(slack_api: SlackStandIn, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.post(f"{slack_api.url}/sandbox/socket/deliver",
                               json={"type": kind, "payload": payload})
    resp.raise_for_status()
    return resp.json()  # type: ignore[no-any-return]


async def requests_in(ingress) -> list[TriageRequest]:
    return [TriageRequest.model_validate_json(m.data) for m in await ingress.stream("EVENTS")]


async def test_a_mention_over_the_socket_is_acknowledged_once_in_jetstream(
        start_ingress, slack_api, wait_until) -> None:
    ingress = await connected(start_ingress, slack_api, wait_until)
    mention = app_mention(TEAM, "C_TRIAGE", "U_RILEY", "why is checkout-api failing?")
    first = await deliver(slack_api, "events_api", mention)
    assert first["ok"] and first["attempts"] == 1, first
    [request] = await requests_in(ingress)
    assert (request.request_kind.value, request.text) == ("mention",
                                                          "why is checkout-api failing?")
    again = await deliver(slack_api, "events_api", mention)  # Slack re-sends the event
    assert again["ok"]
    assert len(await requests_in(ingress)) == 1  # the event id dedupes it


async def test_a_slash_command_over_the_socket_answers_in_the_ack(
        start_ingress, slack_api, wait_until) -> None:
    ingress = await connected(start_ingress, slack_api, wait_until)
    command = {"team_id": TEAM, "channel_id": "C_TRIAGE", "user_id": "U_RILEY",
               "command": "/triage", "text": "what changed in payments-api?",
               "trigger_id": "13345224609.738474920.8088930838d88f008e0",
               "response_url": "https://hooks.slack.com/commands/T0TEST/1/abc"}
    outcome = await deliver(slack_api, "slash_commands", command)
    assert outcome["ok"] and outcome["payload"]["text"] == "Looking into it…", outcome
    [request] = await requests_in(ingress)
    assert request.request_kind.value == "command" and request.response_url
    empty = await deliver(slack_api, "slash_commands", {**command, "text": " "})
    assert empty["payload"]["text"].startswith("Ask me about an engineering problem")


async def test_another_workspaces_event_is_acknowledged_and_dropped(
        start_ingress, slack_api, wait_until) -> None:
    ingress = await connected(start_ingress, slack_api, wait_until, team_scope=TEAM)
    outcome = await deliver(slack_api, "events_api",
                            direct_message("T0OTHER", "D1", "U1", "hello"))
    assert outcome["ok"] and outcome["attempts"] == 1  # no retries for what cannot succeed
    assert await requests_in(ingress) == []


async def test_the_client_reconnects_when_slack_asks(start_ingress, slack_api,
                                                     wait_until) -> None:
    ingress = await connected(start_ingress, slack_api, wait_until)
    hub = slack_api.socket
    assert hub is not None and hub.connected == 1
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.post(f"{slack_api.url}/sandbox/socket/refresh")).json()["asked"] == 1

    async def reconnected() -> bool:
        return hub.connected >= 2 and bool(hub.connections)

    await wait_until(reconnected, within=60)
    outcome = await deliver(slack_api, "events_api",
                            direct_message(TEAM, "D1", "U_RILEY", "is the alert firing?"))
    assert outcome["ok"]
    [request] = await requests_in(ingress)
    assert request.request_kind.value == "dm"


async def test_a_bot_token_cannot_open_a_socket(slack_api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(f"{slack_api.api_url}apps.connections.open",
                               headers={"Authorization": f"Bearer {slack_api.token}"})
    assert resp.json() == {"ok": False, "error": "not_allowed_token_type"}
