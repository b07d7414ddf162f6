"""Slack's external file upload, as the stand-in plays it (what slack-sdk's
`files_upload_v2` calls):

1. `files.getUploadURLExternal` (filename, length) answers `upload_url` and `file_id`;
2. the bytes are POSTed to `upload_url` (raw or multipart), answered `OK - <length>`;
3. `files.completeUploadExternal` (files=[{id, title}], channel_id, thread_ts,
   initial_comment) shares them: a message from the bot with `files` appears in the
   channel or thread, and the answer lists the files.

As in Slack, completing a file that was never uploaded, or twice, is refused, and sharing
into a conversation the bot is not in fails with `not_in_channel`. The channel page links
each shared file to `GET /sandbox/files/<id>`.
"""

import json
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import UploadFile

from .slack_workspace import BOT_ID, JsonDict, SandboxSlack, error

MAX_FILE_BYTES = 1_000_000_000  # Slack: 1 GB a file


def get_upload_url(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
    if not filename or not length.isdigit() or not 0 < int(length) <= MAX_FILE_BYTES:
        return error("invalid_arguments")
    file_id = "F" + secrets.token_hex(5).upper()
    ws.files[file_id] = {"id": file_id, "name": filename, "title": filename,
                         "size": int(length), "content": None, "shared": False,
                         "user": ws.bot_user_id}
    return {"ok": True, "upload_url": f"{ws.base_url}sandbox/upload/{file_id}",
            "file_id": file_id}


def complete_upload(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    wanted = _file_list(args.get("files"))
    if wanted is None:
        return error("invalid_arguments")
    found = [ws.files.get(str(item.get("id"))) for item in wanted]
    if any(f is None or f["content"] is None or f["shared"] for f in found):
        return error("file_not_found")  # never uploaded, or completed already
    channel = str(args.get("channel_id") or "")
    if channel in ws.not_joined:
        return error("not_in_channel")
    files = [_finish(f, item) for f, item in zip(found, wanted, strict=True) if f is not None]
    if channel:
        _share(ws, channel, args, files)
    return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]}


def _file_list(raw: Any) -> list[JsonDict] | None:
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return None
    return items


def _finish(file: JsonDict, item: JsonDict) -> JsonDict:
    file["shared"] = True
    file["title"] = str(item.get("title") or file["name"])
    return file


def shown(file: JsonDict) -> JsonDict:
    """A file as it appears in a message (Slack's file object, without the content)."""
    return {"id": file["id"], "name": file["name"], "title": file["title"],
            "size": file["size"], "mimetype": "text/plain", "filetype": "text",
            "user": file["user"], "url_private_download": f"/sandbox/files/{file['id']}"}


def _share(ws: SandboxSlack, channel: str, args: JsonDict, files: list[JsonDict]) -> None:
    ws.add({"type": "message", "channel": channel, "ts": ws.next_ts(), "user": ws.bot_user_id,
            "bot_id": BOT_ID, "team": ws.team_id, "text": str(args.get("initial_comment") or ""),
            "blocks": [], "thread_ts": args.get("thread_ts") or None, "upload": True,
            "files": [shown(f) for f in files], "metadata": None, "edits": []})


FILE_METHODS = {"files.getUploadURLExternal": get_upload_url,
                "files.completeUploadExternal": complete_upload}


def install_files(app: FastAPI, ws: SandboxSlack) -> None:
    @app.post("/sandbox/upload/{file_id}")
    async def upload(file_id: str, request: Request) -> Response:
        file = ws.files.get(file_id)
        if file is None or file["shared"]:
            return PlainTextResponse("Not Found", status_code=404)
        file["content"] = await _body(request)
        file["size"] = len(file["content"])
        return PlainTextResponse(f"OK - {file['size']}")

    @app.get("/sandbox/files/{file_id}")
    async def download(file_id: str) -> Response:
        file = ws.files.get(file_id)
        if file is None or not file["shared"]:
            return PlainTextResponse("Not Found", status_code=404)
        return Response(file["content"], media_type="text/plain; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{file["name"]}"'})


async def _body(request: Request) -> bytes:
    """The uploaded bytes: the raw body, or the `file` part of a multipart form."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        part = form.get("file")
        return await part.read() if isinstance(part, UploadFile) else str(part or "").encode()
    return await request.body()
