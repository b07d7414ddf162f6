"""`GET /`: the sandbox channel page (static HTML, CSS and a small script), and
`GET /sandbox/config`: who can be played and where things are. The page itself holds no
data: it follows `/sandbox/stream` and posts to `/sandbox/send`, `/sandbox/click`..."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from ..people import PEOPLE, dm_channel

router = APIRouter()
STATIC = Path(__file__).parent / "static"
NO_CACHE = {"Cache-Control": "no-store"}


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=NO_CACHE)


@router.get("/sandbox/static/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    files = {"channel.js": "text/javascript", "channel.css": "text/css"}
    if name not in files:  # a fixed list: no path from the URL ever reaches the disk
        raise HTTPException(404, "no such file")
    return FileResponse(STATIC / name, media_type=files[name], headers=NO_CACHE)


@router.get("/sandbox/config")
async def config(request: Request) -> dict[str, Any]:
    ws = request.app.state.slack
    settings = request.app.state.ingress_link.settings
    return {
        "sandbox": True, "team_id": ws.team_id, "bot_user_id": ws.bot_user_id,
        "channel_id": settings.channel_id, "connected": settings.connected,
        "ingress_url": settings.ingress_url, "approval_url": settings.approval_url,
        "people": [{"user_id": p.user_id, "name": p.real_name, "handle": p.name,
                    "title": p.title, "role": p.role, "dm_channel": dm_channel(p.user_id)}
                   for p in PEOPLE],
    }
