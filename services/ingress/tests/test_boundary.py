"""The edge's error boundary: what Slack (or a prober) sees when things go wrong, and what
never leaves the process."""

import json
import time

from triage_contracts.testing.natsserver import NatsServer

MENTION = {
    "type": "event_callback", "team_id": "T0TEST", "event_id": "EvDOWN",
    "authorizations": [{"team_id": "T0TEST", "user_id": "UBOT"}],
    "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.000100",
              "channel": "C1"},
}


async def test_nats_down_answers_503_so_slack_retries(start_ingress, nats_server: NatsServer):
    ingress = await start_ingress(role="edge")
    nats_server.stop()
    started = time.monotonic()
    resp = await ingress.post("/slack/events", json.dumps(MENTION).encode())
    assert resp.status_code == 503
    assert resp.json()["ok"] is False
    # Within Slack's 3 s window: Slack then retries instead of timing out blind.
    assert time.monotonic() - started < 3.0


async def test_unknown_errors_answer_500_with_an_id_only(ingress) -> None:
    async def broken() -> None:
        raise RuntimeError("db password hunter2 at 10.0.0.7")

    ingress.app.add_api_route("/broken", broken, methods=["GET"])
    resp = await ingress.http.get("/broken")
    assert resp.status_code == 500
    payload = resp.json()
    assert payload["error"] == "internal" and payload["error_id"].startswith("err-")
    assert "hunter2" not in resp.text and "10.0.0.7" not in resp.text


async def test_secrets_and_signatures_never_reach_the_logs(ingress, capsys) -> None:
    from triage_ingress.settings import Settings

    settings: Settings = ingress.app.state.settings
    body = json.dumps(MENTION).encode()
    headers = ingress.signed(body)
    await ingress.post("/slack/events", body, secret="wrong-secret-abcdef")
    await ingress.http.post("/slack/events", content=body, headers=headers)
    out = capsys.readouterr()
    logs = out.out + out.err
    assert "request rejected" in logs or "request enqueued" in logs  # we did capture logs
    assert settings.slack_signing_secret.get_secret_value() not in logs
    assert settings.slack_bot_token.get_secret_value() not in logs
    assert headers["X-Slack-Signature"] not in logs
    assert settings.slack_signing_secret.get_secret_value() not in repr(settings)
