"""A file shared in the thread (the raw evidence of a long answer) through Slack's external
upload flow, exactly once per run step like a message: against the Slack stand-in on real
uvicorn, the real slack-sdk client and the real NATS work queue."""

from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts import subjects
from triage_contracts.bus import publish
from triage_contracts.ids import new_id
from triage_contracts.messages import (
    AuditEvent,
    NotifyFile,
    NotifyKind,
    NotifyRequest,
)
from triage_contracts.streams import Buckets
from triage_ingress.notifier import record_key

from .test_notifier import TEAM, THREAD, drained, request, results

CONTENT = "== Tool output 1\n{\"runs\": [{\"id\": 57, \"conclusion\": \"failure\"}]}\n" * 50
FILE = NotifyFile(filename="evidence-run-abc.txt", title="Evidence", content=CONTENT)


def file_request(**fields: Any) -> NotifyRequest:
    return request("reply-evidence", notify_kind=NotifyKind.FILE, file=FILE,
                   text="The raw evidence behind this answer", **fields)


async def send(app: Any, req: NotifyRequest) -> None:
    await publish(app.admin, req, subjects.work("notify", TEAM, "file"), msg_id=new_id())


def completions(slack_api: Any) -> list[dict[str, Any]]:
    return [c for c in slack_api.state.calls if c["method"] == "files.completeUploadExternal"]


async def _one_result(app: Any) -> bool:
    return len(await results(app)) >= 1


@pytest.fixture
async def notifier(start_ingress, slack_api):
    return await start_ingress(role="notifier", slack_api_url=slack_api.api_url)


async def test_a_file_is_shared_once_in_the_thread(notifier, slack_api, wait_until) -> None:
    await send(notifier, file_request())
    await wait_until(lambda: _one_result(notifier))
    [result] = await results(notifier)
    assert result.ok and result.step_id == "reply-evidence"
    [message] = slack_api.state.messages
    assert (message["thread_ts"], message["text"]) == (THREAD, file_request().text)
    [shared] = message["files"]
    assert shared["name"] == "evidence-run-abc.txt"
    async with httpx.AsyncClient(base_url=slack_api.url) as web:
        assert (await web.get(shared["url_private_download"])).text == CONTENT
    await send(notifier, file_request())  # redelivered: the record answers it
    await wait_until(lambda: drained(notifier))
    assert len(completions(slack_api)) == 1 and len(slack_api.state.messages) == 1
    audits = [AuditEvent.model_validate_json(m.data) for m in await notifier.stream("AUDIT")]
    assert [a.action for a in audits] == ["files.upload"]
    assert CONTENT not in "".join(a.model_dump_json() for a in audits)


async def test_an_interrupted_upload_is_found_instead_of_repeated(notifier, slack_api,
                                                                  wait_until) -> None:
    """Shared, then the notifier died before recording it (a claim with no time is
    stale at once): the retry finds the file in the thread by its name."""
    req = file_request()
    kv = await notifier.js.key_value(Buckets.IDEMPOTENCY.name)
    await kv.create(record_key(req), b"pending")
    await AsyncWebClient(token=slack_api.token, base_url=slack_api.api_url).files_upload_v2(
        channel="C_TRIAGE", thread_ts=THREAD, content=CONTENT, filename=FILE.filename)
    await send(notifier, req)
    await wait_until(lambda: _one_result(notifier))
    [result] = await results(notifier)
    assert result.ok
    assert len(completions(slack_api)) == 1 and len(slack_api.state.messages) == 1


async def test_a_file_where_the_bot_is_not_a_member_is_reported_not_sent_elsewhere(
        start_ingress, slack_api, wait_until) -> None:
    """A response_url carries no files: the refusal goes back to the run."""
    app = await start_ingress(role="notifier", slack_api_url=slack_api.api_url,
                              slack_response_url_prefix=f"{slack_api.url}/sandbox/response/")
    slot = slack_api.state.open_response_slot("U_REQUESTER", "C_PRIVATE", "", None)
    await send(app, file_request(channel_id="C_PRIVATE", thread_ts=None,
                                 response_url=f"{slack_api.url}/sandbox/response/{slot}"))
    await wait_until(lambda: _one_result(app))
    [result] = await results(app)
    assert (result.ok, result.error) == (False, "not_in_channel")
    assert slack_api.state.responses == [] and slack_api.state.messages == []

