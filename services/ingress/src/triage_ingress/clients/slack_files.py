"""Sharing a text file in the asking thread with Slack's external upload flow, and finding
one an interrupted attempt already shared.

slack-sdk's `files_upload_v2` makes the three calls Slack now requires
(`files.getUploadURLExternal`, the upload itself, `files.completeUploadExternal`; the old
`files.upload` is retired). Slack gives the shared message no metadata, so a retry
recognises the file by its name, which the orchestrator makes unique per run step.
"""

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts.messages import NotifyRequest


async def share(web: AsyncWebClient, req: NotifyRequest) -> None:
    """Upload `req.file` and share it in the request's thread, `req.text` its comment."""
    assert req.file is not None
    await web.files_upload_v2(
        channel=req.channel_id, thread_ts=req.thread_ts, content=req.file.content,
        filename=req.file.filename, title=req.file.title, initial_comment=req.text)


def shared_here(message: dict[str, Any], req: NotifyRequest) -> bool:
    """Whether `message` (from the thread's history) shares this step's file."""
    if req.file is None:
        return False
    files = message.get("files") or []
    return any(isinstance(f, dict) and f.get("name") == req.file.filename for f in files)
