"""Real HTTP servers for the router's tests: `serve` runs an ASGI app under uvicorn on a free
loopback port, and `OpenAIStandIn` speaks the real /v1/chat/completions shapes (usage,
tool_calls, error bodies, server-sent events) so the real openai SDK is exercised unchanged.
It can be scripted to fail, be slow, ask for tools (with or without text, with malformed
arguments) and stream its answers as the API does."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from triage_contracts.testing.natsserver import free_port

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
