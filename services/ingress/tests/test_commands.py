"""`POST /slack/commands`: the `/triage` slash command, form-encoded and signed."""

from urllib.parse import urlencode

import pytest
from triage_contracts.ids import stable_id
from triage_contracts.messages import RequestKind, TriageRequest

FORM = "application/x-www-form-urlencoded"
TEAM = "T0TEST"


def command(**fields: str) -> bytes:
    form = {"token": "legacy", "team_id": TEAM, "team_domain": "test", "channel_id": "C_TRIAGE",
            "user_id": "U_REQUESTER", "command": "/triage", "text": "why is checkout-api slow?",
            "response_url": "https://hooks.slack.invalid/x", "trigger_id": "trig-1", **fields}
    return urlencode({k: v for k, v in form.items() if v is not None}).encode()


async def test_slash_command_acks_ephemerally_and_enqueues_one_request(ingress) -> None:
    resp = await ingress.post("/slack/commands", command(), FORM)
    assert resp.status_code == 200
    assert resp.json() == {"response_type": "ephemeral", "text": "Looking into it…"}
    [msg] = await ingress.stream("EVENTS")
    req = TriageRequest.model_validate_json(msg.data)
    event_id = stable_id("cmd-", TEAM, "trig-1")
    assert msg.subject == f"triage.event.{TEAM}.command"
    assert msg.headers["Nats-Msg-Id"] == event_id
    assert (req.request_kind, req.event_id, req.run_id) == (
        RequestKind.COMMAND, event_id, stable_id("run-", TEAM, event_id))
    assert (req.channel_id, req.user_id, req.text, req.thread_ts) == (
        "C_TRIAGE", "U_REQUESTER", "why is checkout-api slow?", None)


async def test_replayed_command_is_one_request(ingress) -> None:
    for _ in range(2):
        assert (await ingress.post("/slack/commands", command(), FORM)).status_code == 200
    assert len(await ingress.stream("EVENTS")) == 1


async def test_empty_text_answers_usage_and_enqueues_nothing(ingress) -> None:
    resp = await ingress.post("/slack/commands", command(text="   "), FORM)
    assert resp.status_code == 200
    assert resp.json()["response_type"] == "ephemeral"
    assert "/triage <question>" in resp.json()["text"]
    assert await ingress.stream("EVENTS") == []


@pytest.mark.parametrize("missing", ["team_id", "user_id", "channel_id"])
async def test_missing_identity_fields_are_400(ingress, missing) -> None:
    resp = await ingress.post("/slack/commands", command(**{missing: None}), FORM)
    assert resp.status_code == 400
    assert missing in resp.json()["reason"]
    assert await ingress.stream("EVENTS") == []


async def test_unsigned_command_is_401(ingress) -> None:
    resp = await ingress.post("/slack/commands", command(), FORM, secret="not-the-secret")
    assert resp.status_code == 401
    assert await ingress.stream("EVENTS") == []
