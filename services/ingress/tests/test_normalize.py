"""The pure rules of what the agent answers, without a server."""

import pytest
from triage_contracts.errors import PermanentError
from triage_contracts.http import status_of
from triage_contracts.messages import RequestKind
from triage_ingress.normalize import Ignored, from_command, from_event_callback, strip_bot_mentions


def test_only_the_bots_own_mention_is_removed() -> None:
    text = strip_bot_mentions("<@UBOT> ask <@U_LEAD> about it", {"UBOT"})
    assert text == "ask <@U_LEAD> about it"
    assert strip_bot_mentions("<@UBOT|triage>  why\n red?", {"UBOT"}) == "why red?"
    # Without authorizations the leading mention is the one that addressed the bot.
    assert strip_bot_mentions("<@UBOT> why <@U2>?", set()) == "why <@U2>?"


def test_team_falls_back_to_the_authorization_and_keeps_enterprise() -> None:
    payload = {"event_id": "Ev1", "enterprise_id": "E1",
               "authorizations": [{"team_id": "T9", "user_id": "UBOT"}],
               "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi",
                         "ts": "1.5", "channel": "C1"}}
    req = from_event_callback(payload)
    assert not isinstance(req, Ignored)
    assert (req.team_id, req.enterprise_id, req.text) == ("T9", "E1", "hi")


def test_team_id_that_cannot_be_a_subject_token_is_rejected() -> None:
    payload = {"event_id": "Ev1", "team_id": "T.>", "event": {"type": "app_mention"}}
    with pytest.raises(Exception, match="subject token"):
        from_event_callback(payload)


def test_command_without_trigger_id_uses_the_fallback() -> None:
    form = {"team_id": "T1", "user_id": "U1", "channel_id": "C1", "text": "why?"}
    one, two = from_command(form, "digest-a"), from_command(form, "digest-b")
    assert one and two and one.request_kind is RequestKind.COMMAND
    assert one.event_id != two.event_id


def test_a_command_keeps_its_response_url_out_of_reprs() -> None:
    url = "https://hooks.slack.com/commands/T0A/1234567890/XyZsecret123"
    req = from_command({"team_id": "T1", "user_id": "U1", "channel_id": "C1", "text": "why?",
                        "trigger_id": "t1", "response_url": url}, "fallback")
    assert req is not None and req.response_url == url
    assert url not in repr(req)  # logs print reprs; the URL lets anyone post as the app


def test_command_without_user_is_rejected_with_400() -> None:
    with pytest.raises(PermanentError) as err:
        from_command({"team_id": "T1", "channel_id": "C1", "text": "x"}, "d")
    assert status_of(err.value) == 400


def _thread_message(text: str, ts: str = "2.000200", thread_ts: str | None = "1.000100",
                    **extra: object) -> dict[str, object]:
    event: dict[str, object] = {"type": "message", "channel_type": "channel", "user": "U1",
                                "text": text, "ts": ts, "channel": "C1", **extra}
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return {"event_id": f"Ev-{ts}", "team_id": "T1",
            "authorizations": [{"team_id": "T1", "user_id": "UBOT"}], "event": event}


def test_a_reply_in_a_thread_is_a_possible_follow_up() -> None:
    req = from_event_callback(_thread_message("and since when?"))
    assert not isinstance(req, Ignored)
    assert req.request_kind is RequestKind.THREAD_REPLY
    assert (req.thread_ts, req.in_thread, req.text) == ("1.000100", True, "and since when?")


@pytest.mark.parametrize("payload,why", [
    # Mentions arrive as app_mention too: the message copy must not start a second run.
    (_thread_message("<@UBOT> and since when?"), "unhandled"),
    (_thread_message("not in a thread", thread_ts=None), "unhandled"),
    # The thread's parent message itself (thread_ts == ts) is not a reply.
    (_thread_message("parent", ts="1.000100"), "unhandled"),
    (_thread_message("bot talk", bot_id="B1"), "bot"),
])
def test_other_channel_messages_are_ignored(payload: dict[str, object], why: str) -> None:
    outcome = from_event_callback(payload)
    assert isinstance(outcome, Ignored) and why in outcome.reason


def test_a_mention_inside_a_thread_says_so() -> None:
    payload = {"event_id": "Ev2", "team_id": "T1",
               "authorizations": [{"team_id": "T1", "user_id": "UBOT"}],
               "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> more?",
                         "ts": "3.1", "thread_ts": "1.1", "channel": "C1"}}
    req = from_event_callback(payload)
    assert not isinstance(req, Ignored) and req.in_thread and req.thread_ts == "1.1"
