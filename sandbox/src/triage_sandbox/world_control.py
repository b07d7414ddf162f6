"""Replacing the world a running stand-in serves: `PUT /sandbox/world`, so one sandbox
stack can run eval case after eval case, each in its own world, without a restart.

The body is `{"world": <a world file's mapping>, "now": <ISO time or null>}`; the world
may `extends:` a packaged world by name, never a path (a stand-in reads no file it is
told to). The stand-in rebuilds what it builds at start-up from that world and forgets
what it recorded (posted comments, calls, faults), so a case sees only its own effects.

Sandbox only, and not open even there: the endpoint exists only when the stand-in was
started with a control token (SANDBOX_CONTROL_TOKEN, made per start by the plan and
given to no service), and a request must carry it as `Authorization: Bearer`. The tools
service talks to the same stand-ins; without the token nothing it fetches (or a model it
serves asks for) can change the world.
"""

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from .demo_data import Demo
from .plan import CONTROL_ENV
from .world.load import WorldError, build_world, spec_of

__all__ = ["CONTROL_ENV", "PATH", "add_world_control", "parse_world"]
PATH = "/sandbox/world"


class WorldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    world: dict[str, Any]
    now: datetime | None = None


def parse_world(raw: bytes) -> Demo:
    """The world a request body describes; raises WorldError saying what is wrong."""
    try:
        body = WorldBody.model_validate_json(raw)
    except ValidationError as exc:
        raise WorldError(f"body: {exc}") from None
    spec = spec_of(body.world)
    try:
        return Demo(**vars(build_world(spec, body.now)))
    except (KeyError, ValueError) as exc:
        raise WorldError(f"world: {exc}") from None


def _refused(token: str | None, header: str) -> JSONResponse | None:
    if token is None:
        return JSONResponse({"error": f"world replacement is off: start the stand-in with "
                                      f"{CONTROL_ENV}"}, 403)
    if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return JSONResponse({"error": "the sandbox control token is required"}, 401)
    return None


def add_world_control(app: FastAPI, token: str | None, replace: Callable[[Demo], None]
                      ) -> None:
    """`replace(world)` swaps what the stand-in serves and forgets what it recorded."""
    @app.put(PATH)
    async def put_world(request: Request) -> JSONResponse:
        refused = _refused(token, request.headers.get("authorization", ""))
        if refused is not None:
            return refused
        try:
            world = parse_world(await request.body())
        except WorldError as exc:
            return JSONResponse({"error": str(exc)}, 422)
        replace(world)
        return JSONResponse({"now": world.now.isoformat(), "repos": sorted(
            r.full_name for r in world.repos.values()), "alerts": len(world.alerts),
            "series": len(world.series)})
