"""Real parts for the router's tests: an OpenAI-compatible stand-in served by uvicorn on a
loopback port, the router app itself under uvicorn, and a test client on the real bus.

The stand-in speaks the real /v1/chat/completions shapes (usage, tool_calls, error bodies)
so the real openai SDK is exercised unchanged; it can be scripted to fail, be slow, ask for
tools (with or without text, with malformed arguments) and stream its answers as SSE."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from nats.js.errors import NotFoundError
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.ids import new_id
from triage_contracts.messages import AuditEvent, ModelCall, ModelResult
from triage_contracts.testing.natsserver import free_port
from triage_router.app import build_app
from triage_router.settings import Settings

TEST_KEY = "sk-test-0123456789abcdefghijklmnop"
ERRORS = {
    "500": (500, "server_error", "the upstream model crashed"),
    "429": (429, "rate_limit_error", "rate limit reached for requests"),
    "400": (400, "invalid_request_error", "Invalid schema for function"),
}


class _QuietServer(uvicorn.Server):
    # In-process servers must not take over the test runner's signal handlers.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Run `app` under real uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=1)
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise the start-up failure
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _call(call_id: str | None, tool: str, arguments: str) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function",
                            "function": {"name": tool, "arguments": arguments}}
    return call | ({"id": call_id} if call_id is not None else {})


COMMENT_ARGS = {"repo": "demo-org/checkout-api", "issue_number": 42, "body": "Likely abc1234"}
TEXT = "CI #57 broke checkout."
# What the model answers in each mode: (content, tool calls as the API sends them).
REPLIES: dict[str, tuple[str | None, list[dict[str, Any]]]] = {
    "text": (TEXT, []),
    "tool_calls": (TEXT, [_call("call_1", "github_comment_issue", json.dumps(COMMENT_ARGS))]),
    # A text-less turn asking for two read tools, as the investigation loop sees them.
    "tools_only": (None, [
        _call("call_a", "github_recent_commits", '{"repo": "demo-org/checkout-api", "limit": 5}'),
        _call("call_b", "prometheus_query",
              '{"query": "sum(rate(http_requests_total{code=~\\"5..\\"}[5m]))"}'),
    ]),
    # Arguments that are not JSON (one without an id): not an error of the call.
    "malformed": (None, [
        _call(None, "github_search_issues", '{"repo": "demo-org/checkout-api", "query": '),
        _call("call_w", "github_comment_issue", '{"repo": "demo-org/checkout-api", "issue'),
    ]),
}


@dataclass
class OpenAIStandIn:
    """Scripted answers: each request takes the next entry of `script`, else `mode`.
    Modes: the REPLIES keys, "500", "429", "400", "slow" (text after `slow_s`), and "cut" (a
    stream that breaks off half way). A request with `"stream": true` is answered as the API
    streams: `data: {chunk}` events with `choices[0].delta` pieces, a usage chunk when
    `stream_options.include_usage` is set, then `data: [DONE]`; `chunk_delay_s` apart."""

    mode: str = "text"
    script: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    usage: tuple[int, int] = (1000, 200)
    slow_s: float = 3.0
    chunk_delay_s: float = 0.0
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.auth.append(request.headers.get("authorization", ""))
            mode = self.script.pop(0) if self.script else self.mode
            if mode in ERRORS:
                status, kind, message = ERRORS[mode]
                return JSONResponse({"error": {"message": message, "type": kind}}, status)
            if mode == "slow":
                await asyncio.sleep(self.slow_s)
            content, calls = REPLIES.get(mode, REPLIES["tool_calls" if mode == "cut" else "text"])
            if body.get("stream"):
                return StreamingResponse(self._events(body, content, calls, cut=mode == "cut"),
                                         media_type="text/event-stream")
            return JSONResponse(self._completion(body, content, calls))

        return app

    def _completion(self, body: dict[str, Any], content: str | None,
                    calls: list[dict[str, Any]]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000,
            "model": body["model"], "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": self._usage(),
        }

    def _usage(self) -> dict[str, int]:
        prompt, completion = self.usage
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    async def _events(self, body: dict[str, Any], content: str | None,
                      calls: list[dict[str, Any]], cut: bool) -> AsyncIterator[str]:
        chunks = self._chunks(body, content, calls)
        for number, chunk in enumerate(chunks):
            if cut and number == len(chunks) // 2:
                raise ConnectionAbortedError("stand-in cuts the stream")  # uvicorn drops it
            yield f"data: {json.dumps(chunk)}\n\n"
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
        yield "data: [DONE]\n\n"

    def _chunks(self, body: dict[str, Any], content: str | None,
                calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in _pieces(content or "", 8)]
        for index, call in enumerate(calls):
            # The id, type and name come first; the arguments follow in pieces.
            first = {k: v for k, v in call.items() if k != "function"} | {
                "index": index, "function": {"name": call["function"]["name"], "arguments": ""}}
            deltas.append({"tool_calls": [first]})
            deltas += [{"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                       for piece in _pieces(call["function"]["arguments"], 7)]
        with_usage = bool(body.get("stream_options", {}).get("include_usage"))
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                "created": 1_700_000_000, "model": body["model"], "system_fingerprint": "fp_test"}
        extra = {"usage": None} if with_usage else {}
        chunks = [base | {"choices": [{"index": 0, "delta": delta, "logprobs": None,
                                       "finish_reason": None}]} | extra for delta in deltas]
        chunks.append(base | {"choices": [{"index": 0, "delta": {}, "logprobs": None,
                                           "finish_reason": "tool_calls" if calls else "stop"}]}
                      | extra)
        if with_usage:
            chunks.append(base | {"choices": [], "usage": self._usage()})
        return chunks


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandIn]:
    stand_in = OpenAIStandIn()
    async with serve(stand_in.app()) as url:
        stand_in.base_url = f"{url}/v1"
        yield stand_in


ROUTES_YAML = """
version: 1
routes:
  draft:
    - {provider: openai, model: gpt-test, max_tokens: 500,
       price_per_1k_input: 0.5, price_per_1k_output: 1.5}
    - {provider: offline, model: offline-extractive-1}
  strict:
    - {provider: openai, model: gpt-test, price_per_1k_input: 0.5, price_per_1k_output: 1.5}
  draft_stream:
    - {provider: openai, model: gpt-test, max_tokens: 500, stream: true,
       price_per_1k_input: 0.5, price_per_1k_output: 1.5}
    - {provider: offline, model: offline-extractive-1}
  strict_stream:
    - {provider: openai, model: gpt-test, stream: true,
       price_per_1k_input: 0.5, price_per_1k_output: 1.5}
"""


@pytest.fixture
def routes_file(tmp_path: Path) -> Path:
    """Known prices (cost of a 1000/200-token call: 0.5 + 0.3 = $0.80), openai-only routes
    for the retry path, and the same routes again with streamed answers."""
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES_YAML)
    return path


class Harness:
    """The router app running for real, and a client on the same bus."""

    def __init__(self, url: str, broker: Any, app: FastAPI) -> None:
        self.url = url
        self.broker = broker
        self.app = app
        self.js = jetstream(broker)

    async def send(self, call: ModelCall) -> None:
        await publish(self.broker, call, subjects.work("model", call.team_id, call.route))

    async def result(self, call: ModelCall, within: float = 15.0) -> ModelResult:
        subject = subjects.result(call.team_id, call.run_id)
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            try:
                raw = await self.js.get_last_msg("RESULTS", subject)
                return ModelResult.model_validate_json(raw.data or b"")
            except NotFoundError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"no result on {subject} within {within}s")

    async def collect(self, stream: str, subject: str, count: int,
                      within: float = 10.0) -> list[bytes]:
        sub = await self.js.pull_subscribe(subject, durable=new_id("t"), stream=stream)
        found: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + within
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(TimeoutError):
                for msg in await sub.fetch(10, timeout=0.3):
                    found.append(msg.data)
                    await msg.ack()
        await sub.unsubscribe()
        return found

    async def audit(self, team: str, count: int) -> list[AuditEvent]:
        raw = await self.collect("AUDIT", subjects.audit(team, "router"), count)
        return [AuditEvent.model_validate_json(r) for r in raw]

    async def routes(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.get("/routes")
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]

    async def metrics(self) -> str:
        async with httpx.AsyncClient(base_url=self.url) as client:
            return (await client.get("/metrics")).text


@pytest.fixture
def with_key(standin: OpenAIStandIn, routes_file: Path) -> dict[str, Any]:
    """Router settings with a key, pointed at the stand-in, with the test routes."""
    return {"openai_api_key": TEST_KEY, "openai_base_url": standin.base_url,
            "routes_file": routes_file}


@pytest.fixture
def start_router(nats_url: str):  # type: ignore[no-untyped-def]
    """`async with start_router(openai_api_key=..., ...) as harness:` runs the real app."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Harness]:
        settings = Settings(nats_url=nats_url, **{"openai_api_key": None, **overrides})
        app = build_app(settings)
        async with serve(app) as url:
            broker = build_broker(nats_url, "tester")
            await broker.connect()
            try:
                yield Harness(url, broker, app)
            finally:
                await broker.stop()

    return start


EVIDENCE: list[dict[str, Any]] = [
    {"source": "github.workflow_run", "title": "CI #57 failed",
     "url": "https://github.com/demo-org/checkout-api/actions/runs/9001", "detail": "",
     "attributes": {"conclusion": "failure", "head_sha": "abc1234def5678", "run_number": 57,
                    "name": "CI"}},
    {"source": "github.commit", "title": "Switch payment client to async retries",
     "url": "https://github.com/demo-org/checkout-api/commit/abc1234def5678", "detail": "",
     "attributes": {"sha": "abc1234def5678", "author": "dana", "date": "2024-05-01T09:00:00Z"}},
    {"source": "github.commit", "title": "Bump docs",
     "url": "https://github.com/demo-org/checkout-api/commit/0ff1ce0ff1ce", "detail": "",
     "attributes": {"sha": "0ff1ce0ff1ce", "author": "lee", "date": "2024-05-01T10:00:00Z"}},
    {"source": "prometheus.query", "title": "checkout-api 5xx ratio", "url": None,
     "detail": "", "attributes": {"value": 0.071, "query": "sum(rate(...))",
                                  "service": "checkout-api"}},
    {"source": "github.issue", "title": "Checkout returns 502 for some card payments",
     "url": "https://github.com/demo-org/checkout-api/issues/42",
     "attributes": {"number": 42, "state": "open", "repo": "demo-org/checkout-api",
                    "is_pull_request": False}},
]

COMMENT_TOOL = {
    "name": "github.comment_issue", "description": "Comment on a GitHub issue",
    "parameters": {"type": "object", "required": ["repo", "issue_number", "body"],
                   "properties": {"repo": {"type": "string"},
                                  "issue_number": {"type": "integer"},
                                  "body": {"type": "string"}}},
}


def prompt(question: str, evidence: list[dict[str, Any]]) -> str:
    """The orchestrator's exact user-message format."""
    return f"<question>{question}</question>\n<evidence>\n{json.dumps(evidence)}\n</evidence>"


@pytest.fixture
def make_call():  # type: ignore[no-untyped-def]
    def make(route: str = "draft", evidence: list[dict[str, Any]] | None = None,
             question: str = "why is checkout-api failing?", tools: bool = True,
             team: str = "T1", **extra: Any) -> ModelCall:
        return ModelCall(
            team_id=team, run_id=new_id("run"), step_id="draft", route=route,
            messages=[{"role": "system", "content": "You are a careful triage engineer."},
                      {"role": "user",
                       "content": prompt(question, EVIDENCE if evidence is None else evidence)}],
            tools=[COMMENT_TOOL] if tools else [], **extra,
        )

    return make


@pytest.fixture
def evidence() -> list[dict[str, Any]]:
    """A fresh copy of the demo evidence, free to edit in a test."""
    return json.loads(json.dumps(EVIDENCE))


EXPECTED_ANSWER = """\
*Triage:* why is checkout-api failing?
• *CI:* <https://github.com/demo-org/checkout-api/actions/runs/9001|CI #57> failed on `abc1234`
• *Suspect change:* <https://github.com/demo-org/checkout-api/commit/abc1234def5678|`abc1234`> \
Switch payment client to async retries (dana)
• *Metric:* checkout-api 5xx ratio is 7.1%
• *Related:* <https://github.com/demo-org/checkout-api/issues/42|demo-org/checkout-api#42> \
Checkout returns 502 for some card payments
*Likely cause:* `abc1234` — the failures start with this commit. Consider reverting it."""


@pytest.fixture
def expected_answer() -> str:
    """The offline provider's answer for the demo evidence, byte for byte."""
    return EXPECTED_ANSWER
