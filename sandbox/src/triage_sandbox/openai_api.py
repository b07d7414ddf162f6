"""A scripted OpenAI-compatible model for tests: `POST /v1/chat/completions` (plain and
`stream=true`) and `GET /v1/models`, in the wire protocol the official `openai` SDK
speaks, answering from rules a test posts to `/sandbox/script` (`openai_script.py`).

It checks requests as OpenAI does (message order around tool calls, tool names, known
models, `Authorization: Bearer` when started with a key) and answers errors in OpenAI's
shape. A request no rule matches is a 400 that says so. `GET /sandbox/requests` returns
what it received (bodies as sent, with the turn and the rule that answered);
`DELETE /sandbox/requests` forgets them. `POST /sandbox/faults` makes every completion
wait `delay_s` first (a slow vendor, whatever the script says) until `DELETE
/sandbox/faults`, as the Slack stand-in's faults do. Nothing here is a real model.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from .openai_script import ErrorSpec, Reply, Script, Scripted, call_id, first_user, turn_of
from .openai_wire import chunks, completion, request_problem

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "o4-mini")
KEYS_URL = "https://platform.openai.com/account/api-keys"


def _error(spec: ErrorSpec) -> JSONResponse:
    return JSONResponse(spec.body(), spec.status)


def _auth_problem(header: str, token: str | None) -> ErrorSpec | None:
    if token is None or header == f"Bearer {token}":
        return None
    given = header.removeprefix("Bearer ").strip()
    if not given:
        return ErrorSpec(status=401, message=(
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
            "or as the password field (with blank username) if you're accessing the API "
            f"from your browser and are prompted for a username. You can obtain an API key "
            f"from {KEYS_URL}."))
    masked = given[:3] + "*" * max(0, len(given) - 7) + given[-4:]
    return ErrorSpec(status=401, code="invalid_api_key", message=(
        f"Incorrect API key provided: {masked}. You can find your API key at {KEYS_URL}."))


class Slowness(BaseModel):
    """An injected fault: every completion waits this long before it is answered."""

    delay_s: float = Field(ge=0, le=600)


class ScriptedModel:
    """The stand-in's state: the script, the models it serves, the requests it got."""

    def __init__(self) -> None:
        self.script = Scripted()
        self.models = set(MODELS)
        self.requests: list[dict[str, Any]] = []
        self.slowness: Slowness | None = None

    def record(self, body: Any, rule: int | None, status: int) -> None:
        turn = turn_of(body.get("messages") or []) if isinstance(body, dict) else None
        self.requests.append({"received_at": datetime.now(UTC).isoformat(), "body": body,
                              "turn": turn, "rule": rule, "status": status})

    def decide(self, body: dict[str, Any]) -> tuple[int | None, Reply | ErrorSpec]:
        problem = request_problem(body, self.models)
        if problem is not None:
            return None, problem
        found = self.script.answer(body)
        if found is None:
            messages = body.get("messages") or []
            return None, ErrorSpec(status=400, code="sandbox_no_rule_matched", message=(
                f"SANDBOX: no scripted rule matched this request (turn {turn_of(messages)}, "
                f"first user message {first_user(messages)[:80]!r}). POST rules to "
                "/sandbox/script."))
        return found


async def _stream(body: dict[str, Any], reply: Reply, ids: list[str]) -> AsyncIterator[bytes]:
    for chunk in chunks(body, reply, ids):
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        if reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)
    yield b"data: [DONE]\n\n"


def _answer(body: dict[str, Any], reply: Reply) -> JSONResponse | StreamingResponse:
    ids = [c.id or call_id() for c in reply.tool_calls]
    if not body.get("stream"):
        return JSONResponse(completion(body, reply, ids))
    return StreamingResponse(_stream(body, reply, ids), media_type="text/event-stream",
                             headers={"cache-control": "no-cache"})


def _routes(app: FastAPI, model: ScriptedModel, token: str | None) -> None:
    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        problem = _auth_problem(request.headers.get("authorization", ""), token)
        if problem is not None:
            return _error(problem)
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if model.slowness is not None:  # after the body: a client gone meanwhile is no error
            await asyncio.sleep(model.slowness.delay_s)
        if not isinstance(body, dict):
            model.record(body, None, 400)
            return _error(ErrorSpec(status=400, message=(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON.")))
        rule, outcome = model.decide(body)
        error = outcome if isinstance(outcome, ErrorSpec) else outcome.error
        model.record(body, rule, error.status if error else 200)
        if isinstance(outcome, Reply):
            await asyncio.sleep(outcome.delay_s)  # scripted slowness, errors included
        if error is not None:
            return _error(error)
        assert isinstance(outcome, Reply)
        return _answer(body, outcome)

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        problem = _auth_problem(request.headers.get("authorization", ""), token)
        if problem is not None:
            return _error(problem)
        return {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1_715_367_049, "owned_by": "system"}
            for m in sorted(model.models)]}


def _hooks(app: FastAPI, model: ScriptedModel) -> None:
    @app.post("/sandbox/script")
    async def load_script(request: Request) -> Any:
        try:
            script = Script.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, 422)
        model.script.load(script)
        model.models = set(MODELS) | set(script.models)
        return {"rules": len(script.rules)}

    @app.get("/sandbox/requests")
    async def requests() -> list[dict[str, Any]]:
        return model.requests

    @app.delete("/sandbox/requests")
    async def forget() -> dict[str, int]:
        count, model.requests = len(model.requests), []
        return {"deleted": count}

    @app.post("/sandbox/faults")
    async def slow_down(slowness: Slowness) -> dict[str, Any]:
        model.slowness = slowness
        return {"delay_s": slowness.delay_s}

    @app.delete("/sandbox/faults")
    async def clear_faults() -> dict[str, Any]:
        """Ends the slowness at once (a fault suite's outage ends on its schedule)."""
        model.slowness = None
        return {"delay_s": 0.0}


def build_openai_api(token: str | None = None) -> FastAPI:
    """`token`: the API key clients must send (`Authorization: Bearer`); None: any."""
    model = ScriptedModel()
    app = FastAPI(title="SANDBOX OpenAI-compatible API (a scripted model, not a real one)")
    app.state.model = model
    _routes(app, model, token)
    _hooks(app, model)
    return app
