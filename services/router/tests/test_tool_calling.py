"""The investigation loop's protocol through the real openai SDK, whole and streamed: what the
OpenAI-compatible stand-in RECEIVED (assistant tool calls, tool messages, tools, tool_choice)
and what the router PUBLISHED (raw tool calls, finish reason, usage)."""

import json

import nats
import pytest
from nats.aio.msg import Msg
from triage_contracts.ids import new_id
from triage_contracts.messages import ModelCall
from triage_contracts.tools import TOOLS

READ_TOOLS = ["github.recent_commits", "prometheus.query", "github.search_issues"]
BROKEN_ARGS = '{"query": "sum(rate('
STREAMED = [False, True]


def loop_call(route: str, tool_choice: str = "auto") -> ModelCall:
    """The third turn of an investigation: two tool calls made, both answered."""
    return ModelCall(
        team_id="T1", run_id=new_id("run"), step_id="turn-3", route=route,
        messages=[
            {"role": "system", "content": "You investigate with tools."},
            {"role": "user", "content": "why is checkout-api failing?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "name": "github.recent_commits",
                 "arguments": '{"repo": "demo-org/checkout-api"}'},
                {"id": "c2", "name": "prometheus.query", "arguments": BROKEN_ARGS}]},
            {"role": "tool", "tool_call_id": "c1", "content": '[{"sha": "abc1234"}]'},
            {"role": "tool", "tool_call_id": "c2", "content": "error: arguments are not JSON"},
            {"role": "assistant", "content": "Looking at CI next.", "tool_calls": [
                {"id": "c3", "name": "github.workflow_runs", "arguments": "{}"}]},
            {"role": "tool", "tool_call_id": "c3", "content": '[{"conclusion": "failure"}]'},
        ],
        tools=[TOOLS[name].spec() for name in READ_TOOLS], tool_choice=tool_choice,
    )


def route(streamed: bool, strict: bool = True) -> str:
    return ("strict" if strict else "agent") + ("_stream" if streamed else "")


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("tool_choice", ["auto", "none"])
async def test_the_conversation_goes_on_the_wire_as_the_api_wants_it(
    start_router, standin, with_key, streamed: bool, tool_choice: str
) -> None:
    async with start_router(**with_key) as router:
        call = loop_call(route(streamed), tool_choice)
        await router.send(call)
        result = await router.result(call)

    [body] = standin.requests
    assert [m["role"] for m in body["messages"]] == [
        "system", "user", "assistant", "tool", "tool", "assistant", "tool"]
    assert body["messages"][2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {
            "name": "github_recent_commits", "arguments": '{"repo": "demo-org/checkout-api"}'}},
        {"id": "c2", "type": "function", "function": {
            "name": "prometheus_query", "arguments": BROKEN_ARGS}}]}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "c1",
                                   "content": '[{"sha": "abc1234"}]'}
    assert body["messages"][4]["tool_call_id"] == "c2"
    assert body["messages"][5]["content"] == "Looking at CI next."
    assert body["messages"][5]["tool_calls"][0]["function"]["name"] == "github_workflow_runs"
    assert [t["function"]["name"] for t in body["tools"]] == [
        "github_recent_commits", "prometheus_query", "github_search_issues"]
    assert body["tool_choice"] == tool_choice
    if streamed:
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    else:
        assert "stream" not in body and "stream_options" not in body

    assert result.ok and result.content == "CI #57 broke checkout."
    assert result.tool_calls == [] and result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 200)


@pytest.mark.parametrize("streamed", STREAMED)
async def test_text_less_tool_calls_are_published_as_the_model_wrote_them(
    start_router, standin, with_key, streamed: bool
) -> None:
    standin.mode = "tools_only"
    async with start_router(**with_key) as router:
        call = loop_call(route(streamed))
        await router.send(call)
        result = await router.result(call)

    assert result.ok and result.content == "" and result.finish_reason == "tool_calls"
    assert [(c.id, c.name) for c in result.tool_calls] == [
        ("call_a", "github.recent_commits"), ("call_b", "prometheus.query")]
    assert json.loads(result.tool_calls[1].arguments) == {
        "query": 'sum(rate(http_requests_total{code=~"5.."}[5m]))'}
    assert result.proposed_actions == []  # read tools are never proposals


@pytest.mark.parametrize("streamed", STREAMED)
async def test_malformed_arguments_are_not_an_error_and_missing_ids_are_made_up(
    start_router, standin, with_key, streamed: bool
) -> None:
    standin.mode = "malformed"
    async with start_router(**with_key) as router:
        call = loop_call(route(streamed))
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)

    assert result.ok and result.finish_reason == "tool_calls"
    search, comment = result.tool_calls
    assert search.name == "github.search_issues" and search.id.startswith("call_")
    assert search.arguments == '{"repo": "demo-org/checkout-api", "query": '
    assert (comment.id, comment.name) == ("call_w", "github.comment_issue")
    assert result.proposed_actions == []  # the deprecated path skips what does not parse
    assert audit.detail["warnings"] == ["ignored github.comment_issue: arguments are not "
                                        "valid JSON"]
    assert audit.detail["tool_calls"] == ["github.search_issues", "github.comment_issue"]


async def test_a_streamed_answer_is_the_same_as_a_whole_one(
    start_router, standin, with_key
) -> None:
    standin.mode = "tool_calls"
    # Both in flight at once: a day that holds both worst cases.
    async with start_router(**with_key, daily_budget_usd=50) as router:
        whole, streamed = loop_call("strict"), loop_call("strict_stream")
        for call in (whole, streamed):
            await router.send(call)
        results = [await router.result(call) for call in (whole, streamed)]

    fields = {"ok", "content", "tool_calls", "proposed_actions", "finish_reason", "usage",
              "provider", "model"}
    assert results[0].model_dump(include=fields) == results[1].model_dump(include=fields)
    [action] = results[1].proposed_actions  # the deprecated path still fills write tools
    assert action.tool == "github.comment_issue" and action.arguments["issue_number"] == 42


async def test_a_stream_cut_short_falls_back_and_is_charged_as_lost(
    start_router, make_call, standin, with_key, expected_answer: str
) -> None:
    standin.mode = "cut"
    async with start_router(**with_key) as router:
        call = make_call(route="agent_stream", answered=True)
        await router.send(call)
        result = await router.result(call)
        [audit] = await router.audit("T1", 1)
        spent = await router.ledger("T1")

    assert result.ok and result.provider == "offline" and result.content == expected_answer
    lost, answered = audit.detail["attempts"]
    assert (lost["outcome"], answered["outcome"]) == ("unavailable", "ok")
    assert lost["error"].startswith("stream failed")
    # The vendor may bill a request whose answer was lost: its worst case is charged.
    assert lost["charged_usd"] > 0 and spent.spent == pytest.approx(lost["charged_usd"])
    assert spent.holds == {}


async def test_a_slow_stream_sends_in_progress_acks(
    start_router, standin, with_key, nats_url: str
) -> None:
    standin.mode, standin.chunk_delay_s = "tool_calls", 0.05  # ~25 chunks: over a second
    heartbeats: list[bytes] = []
    nc = await nats.connect(nats_url)

    async def listen(msg: Msg) -> None:
        heartbeats.append(msg.data)

    await nc.subscribe("$JS.ACK.WORK.router.>", cb=listen)
    async with start_router(**with_key, progress_interval_s=0.2) as router:
        call = loop_call("strict_stream")
        await router.send(call)
        result = await router.result(call)
    await nc.close()

    assert result.ok and result.tool_calls[0].name == "github.comment_issue"
    assert heartbeats.count(b"+WPI") >= 3
    assert not any(h.startswith((b"-NAK", b"+TERM")) for h in heartbeats)
