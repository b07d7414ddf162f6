"""The scripted model speaks the chat-completions protocol the official `openai` SDK
expects: the REAL AsyncOpenAI client (retries off) against the stand-in under uvicorn,
plain and streamed, with tool calls, malformed arguments, errors and unmatched requests."""

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from triage_sandbox.openai_api import build_openai_api

KEY = "sk-sandbox-test-key-0123456789"
QUESTION = "why is checkout-api failing?"
Serve = Callable[[FastAPI], AbstractContextManager[str]]
TOOLS = [{"type": "function", "function": {
    "name": "github_workflow_runs", "description": "CI runs",
    "parameters": {"type": "object", "properties": {"repo": {"type": "string"}}}}}]


class Model:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = AsyncOpenAI(api_key=KEY, base_url=f"{url}/v1", max_retries=0,
                                  timeout=10)

    def script(self, *rules: dict[str, Any], **extra: Any) -> None:
        response = httpx.post(f"{self.url}/sandbox/script",
                              json={"rules": list(rules), **extra})
        assert response.status_code == 200, response.text

    def requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/sandbox/requests").json()  # type: ignore[no-any-return]

    async def ask(self, question: str = QUESTION, **kw: Any) -> Any:
        messages = kw.pop("messages", [{"role": "user", "content": question}])
        return await self.client.chat.completions.create(
            model=kw.pop("model", "gpt-4o-mini"), messages=messages, **kw)


@pytest.fixture
async def model(serve: Serve) -> AsyncIterator[Model]:
    with serve(build_openai_api(token=KEY)) as url:
        m = Model(url)
        yield m
        await m.client.close()


def tool_call_rule(arguments: str = '{"repo": "demo-org/checkout-api"}',
                   **match: Any) -> dict[str, Any]:
    return {"match": {"user_contains": "checkout-api", "turn": 1, **match},
            "reply": {"tool_calls": [{"name": "github_workflow_runs",
                                      "arguments": arguments}]}}


async def test_plain_completion_with_usage(model: Model) -> None:
    model.script({"match": {"user_contains": "checkout"}, "reply": {"content": "CI is red."}})
    response = await model.ask()
    [choice] = response.choices
    assert choice.message.content == "CI is red." and choice.finish_reason == "stop"
    assert choice.message.tool_calls is None and response.model == "gpt-4o-mini"
    assert response.id.startswith("chatcmpl-") and response.object == "chat.completion"
    usage = response.usage
    assert usage is not None and usage.completion_tokens == 3  # ~4 characters a token
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_tool_calls_then_an_answer_that_reads_the_tool_message(model: Model) -> None:
    model.script(tool_call_rule(), {
        "match": {"turn": 2, "tool_contains": "conclusion"},
        "reply": {"content": "CI #6 failed on e15da5d."}})
    first = await model.ask(tools=TOOLS)
    [call] = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call.id)  # generated like OpenAI's
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "github_workflow_runs", {"repo": "demo-org/checkout-api"})
    messages = [{"role": "user", "content": QUESTION},
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id,
                 "content": '{"conclusion": "failure", "run_number": 6}'}]
    second = await model.ask(messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "CI #6 failed on e15da5d."
    seen = model.requests()
    assert [r["turn"] for r in seen] == [1, 2] and [r["rule"] for r in seen] == [0, 1]
    assert seen[1]["body"]["messages"][2]["tool_call_id"] == call.id


async def test_streamed_content_and_usage(model: Model) -> None:
    text = "The bad commit is e15da5d: Switch payment client to async retries."
    model.script({"match": {"stream": True}, "reply": {"content": text, "chunk_chars": 5}})
    stream = await model.ask(stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(pieces) == text and len([p for p in pieces if p]) == 14
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])


async def test_streamed_tool_calls_keep_malformed_arguments(model: Model) -> None:
    broken = '{"repo": "demo-org/checkout-api", "limit": '  # cut off on purpose
    model.script({"match": {"turn": 1}, "reply": {
        "content": "Checking CI.", "chunk_chars": 7, "tool_calls": [
            {"id": "call_fixed", "name": "github_workflow_runs", "arguments": broken},
            {"name": "prometheus_query", "arguments": '{"query": "up"}'}]}})
    stream = await model.ask(stream=True, tools=TOOLS)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        delta = chunk.choices[0].delta
        finish = chunk.choices[0].finish_reason or finish
        for part in delta.tool_calls or []:
            entry = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += part.id or ""
            if part.function is not None:
                entry["name"] += part.function.name or ""
                entry["arguments"] += part.function.arguments or ""
    assert finish == "tool_calls"
    assert calls[0] == {"id": "call_fixed", "name": "github_workflow_runs",
                        "arguments": broken}
    with pytest.raises(json.JSONDecodeError):
        json.loads(calls[0]["arguments"])
    assert calls[1]["name"] == "prometheus_query" and calls[1]["id"].startswith("call_")


async def test_the_sdks_stream_helper_assembles_the_answer(model: Model) -> None:
    model.script(tool_call_rule())
    async with model.client.chat.completions.stream(
            model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}],
            tools=TOOLS) as stream:
        final = await stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls
    assert call.function.arguments == '{"repo": "demo-org/checkout-api"}'


async def test_concurrent_conversations_are_matched_per_request(model: Model) -> None:
    model.script({"match": {"user_contains": "checkout"}, "reply": {
        "content": "about checkout", "delay_s": 0.3}},
        {"match": {"user_contains": "payments"}, "reply": {"content": "about payments"}})
    answers = await asyncio.gather(*(model.ask(q) for q in [
        "checkout-api?", "payments-api?", "checkout again", "payments again"]))
    assert [a.choices[0].message.content for a in answers] == [
        "about checkout", "about payments", "about checkout", "about payments"]


async def test_scripted_errors_have_openais_shape(model: Model) -> None:
    model.script(
        {"match": {"turn": 1}, "times": 1, "reply": {"error": {
            "status": 429, "message": "Rate limit reached for gpt-4o-mini",
            "code": "rate_limit_exceeded"}}},
        {"match": {"turn": 1}, "times": 1, "reply": {"error": {
            "status": 500, "message": "The server had an error"}}},
        {"match": {"turn": 1}, "reply": {"content": "ok now"}})
    with pytest.raises(openai.RateLimitError) as limited:
        await model.ask()
    assert limited.value.code == "rate_limit_exceeded" and limited.value.type == "requests"
    with pytest.raises(openai.InternalServerError) as failed:
        await model.ask()
    assert failed.value.body == {"message": "The server had an error",
                                 "type": "server_error", "param": None, "code": None}
    assert (await model.ask()).choices[0].message.content == "ok now"  # `times` used up


async def test_unmatched_requests_say_so(model: Model) -> None:
    model.script({"match": {"user_contains": "payments"}, "reply": {"content": "x"}})
    with pytest.raises(openai.BadRequestError) as unmatched:
        await model.ask()
    assert unmatched.value.code == "sandbox_no_rule_matched"
    assert "no scripted rule matched" in unmatched.value.message
    assert model.requests()[-1]["status"] == 400


@pytest.mark.parametrize(("kw", "error", "fragment"), [
    ({"messages": [{"role": "user", "content": "q"},
                   {"role": "tool", "tool_call_id": "call_x", "content": "{}"}]},
     openai.BadRequestError, "must be a response to a preceeding message with 'tool_calls'"),
    ({"messages": [{"role": "user", "content": "q"}, {
        "role": "assistant", "content": None, "tool_calls": [{
            "id": "call_a", "type": "function",
            "function": {"name": "f", "arguments": "{}"}}]}]},
     openai.BadRequestError, "did not have response messages: call_a"),
    ({"tools": [{"type": "function", "function": {"name": "github.search_issues"}}]},
     openai.BadRequestError, "string does not match pattern"),
    ({"model": "gpt-0"}, openai.NotFoundError, "The model `gpt-0` does not exist"),
])
async def test_requests_openai_would_reject(model: Model, kw: dict[str, Any],
                                            error: type[Exception], fragment: str) -> None:
    model.script({"reply": {"content": "never sent"}})
    with pytest.raises(error, match=re.escape(fragment)):
        await model.ask(**kw)


async def test_the_api_key_is_required(model: Model) -> None:
    wrong = AsyncOpenAI(api_key="sk-wrong-key-000000", base_url=f"{model.url}/v1",
                        max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        await wrong.models.list()
    assert denied.value.code == "invalid_api_key" and "sk-************0000" in \
        denied.value.message
    await wrong.close()
    listed = await model.client.models.list()
    assert "gpt-4o-mini" in [m.id for m in listed.data]


async def test_a_slow_reply_times_the_client_out(model: Model) -> None:
    model.script({"reply": {"content": "late", "delay_s": 1.5}})
    impatient = model.client.with_options(timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await impatient.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])


async def test_an_injected_slowness_times_out_every_call_until_cleared(model: Model) -> None:
    """The fault suite's model timeout: whatever the script says, answers come too late."""
    model.script({"reply": {"content": "on time"}})
    async with httpx.AsyncClient(base_url=model.url) as control:
        assert (await control.post("/sandbox/faults", json={"delay_s": 1.5})).is_success
        impatient = model.client.with_options(timeout=0.5)
        with pytest.raises(openai.APITimeoutError):
            await impatient.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])
        assert (await control.delete("/sandbox/faults")).is_success
    response = await impatient.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])
    assert response.choices[0].message.content == "on time"
