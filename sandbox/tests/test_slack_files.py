"""Slack's external upload flow in the stand-in, driven by slack-sdk's own
`files_upload_v2` (getUploadURLExternal → upload → completeUploadExternal) over real HTTP;
the shared file shows in the thread and on the channel page as a download link."""

from collections.abc import AsyncIterator

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from triage_sandbox.blockkit import message_html
from triage_sandbox.slack_api import SandboxSlack, build_slack_api

from .test_slack_api import serving

TOKEN = "xoxb-sandbox-token"


@pytest.fixture
async def standin() -> AsyncIterator[tuple[str, SandboxSlack]]:
    app = build_slack_api()
    async with serving(app) as url:
        yield url, app.state.slack


def client(url: str) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=f"{url}/api/", retry_handlers=[])


async def test_files_upload_v2_shares_the_file_in_the_thread(standin) -> None:
    url, ws = standin
    slack = client(url)
    parent = await slack.chat_postMessage(channel="C1", text="why is CI red?")
    done = await slack.files_upload_v2(
        channel="C1", thread_ts=parent["ts"], content="run 57: failed\n" * 100,
        filename="evidence-r1.txt", title="Evidence", initial_comment="The raw evidence")
    assert done["ok"] and done["file"]["title"] == "Evidence"
    methods = [c["method"] for c in ws.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    replies = await slack.conversations_replies(channel="C1", ts=parent["ts"])
    shared = replies["messages"][-1]
    assert shared["text"] == "The raw evidence" and shared["upload"] is True
    [file] = shared["files"]
    assert (file["name"], file["size"]) == ("evidence-r1.txt", len("run 57: failed\n" * 100))
    async with httpx.AsyncClient(base_url=url) as web:
        got = await web.get(file["url_private_download"])
    assert got.status_code == 200 and got.text == "run 57: failed\n" * 100
    html = message_html({**shared, "blocks": []})
    assert 'data-testid="file"' in html and f'href="/sandbox/files/{file["id"]}"' in html


async def test_completing_a_file_never_uploaded_or_twice_is_refused(standin) -> None:
    url, ws = standin
    slack = client(url)
    got = await slack.files_getUploadURLExternal(filename="a.txt", length=3)
    files = [{"id": got["file_id"], "title": "a"}]
    with pytest.raises(SlackApiError) as refused:  # bytes never sent
        await slack.files_completeUploadExternal(files=files, channel_id="C1")
    assert refused.value.response["error"] == "file_not_found"
    async with httpx.AsyncClient() as web:
        sent = await web.post(got["upload_url"], content=b"abc")
    assert sent.text == "OK - 3"
    await slack.files_completeUploadExternal(files=files, channel_id="C1")
    with pytest.raises(SlackApiError) as again:
        await slack.files_completeUploadExternal(files=files, channel_id="C1")
    assert again.value.response["error"] == "file_not_found"
    assert len([m for m in ws.messages if m.get("files")]) == 1


async def test_sharing_where_the_bot_is_not_a_member_is_refused(standin) -> None:
    url, ws = standin
    with pytest.raises(SlackApiError) as refused:
        await client(url).files_upload_v2(channel="C_PRIVATE", content="x", filename="x.txt")
    assert refused.value.response["error"] == "not_in_channel"
    assert ws.messages == []


async def test_upload_url_without_a_length_is_invalid(standin) -> None:
    url, _ = standin
    with pytest.raises(SlackApiError) as refused:
        await client(url).api_call("files.getUploadURLExternal", params={"filename": "a"})
    assert refused.value.response["error"] == "invalid_arguments"


async def test_a_multipart_upload_is_taken_too(standin) -> None:
    url, _ = standin
    got = await client(url).files_getUploadURLExternal(filename="b.txt", length=5)
    async with httpx.AsyncClient() as web:
        sent = await web.post(got["upload_url"], files={"file": ("b.txt", b"hello")})
    assert sent.text == "OK - 5"
