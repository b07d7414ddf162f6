"""The wire format and the stream fold as pure functions, on the SDK's own chunk types."""

import pytest
from openai.types.chat import ChatCompletionChunk
from triage_contracts.ids import new_id
from triage_contracts.messages import ChatMessage, ModelCall
from triage_router.cost import prompt_tokens_bound, worst_case_usd
from triage_router.providers.base import AnswerLost
from triage_router.providers.openai_stream import StreamFold
from triage_router.providers.openai_wire import (
    RawAnswer,
    RawToolCall,
    completion,
    request_body,
    wire_message,
)
from triage_router.routes import Target

TARGET = Target(provider="openai", model="m", max_tokens=100, price_per_1k_input=1.0,
                price_per_1k_output=2.0)


def call(**extra: object) -> ModelCall:
    fields = {"messages": [{"role": "user", "content": "why?"}]} | extra
    return ModelCall(team_id="T1", run_id=new_id("run"), step_id="turn-1", route="draft",
                     **fields)


def chunk(delta: dict[str, object] | None = None, finish: str | None = None,
          usage: tuple[int, int] | None = None) -> ChatCompletionChunk:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    raw: dict[str, object] = {"id": "c", "object": "chat.completion.chunk", "created": 1,
                              "model": "m", "choices": choices}
    if usage:
        raw["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                        "total_tokens": sum(usage)}
    return ChatCompletionChunk.model_validate(raw)


def test_tool_output_without_a_call_id_stays_labelled_user_content() -> None:
    legacy = ChatMessage(role="tool", content="[]")
    assert wire_message(legacy) == {"role": "user", "content": "[tool output]\n[]"}
    answered = ChatMessage(role="tool", content="[]", tool_call_id="c1")
    assert wire_message(answered) == {"role": "tool", "tool_call_id": "c1", "content": "[]"}
    assert wire_message(ChatMessage(role="assistant", content="")) == {
        "role": "assistant", "content": ""}


def test_tools_and_tool_choice_are_sent_only_with_tools() -> None:
    assert "tools" not in request_body(call(), TARGET)
    assert "tool_choice" not in request_body(call(tool_choice="none"), TARGET)
    assert request_body(call(max_tokens=800), TARGET)["max_tokens"] == 100  # target's cap


def test_missing_ids_are_stable_per_step_and_unique_per_call() -> None:
    model_call = call()
    answer = RawAnswer("", [RawToolCall(None, "github_search_issues", "{"),
                            RawToolCall("", "prometheus_query", "{}")], "tool_calls", (1, 1))
    first, second = completion(model_call, TARGET, answer).tool_calls
    again = completion(model_call.model_copy(), TARGET, answer).tool_calls
    assert first.id.startswith("call_") and first.id != second.id
    assert [c.id for c in again] == [first.id, second.id]
    other_step = completion(model_call.model_copy(update={"step_id": "turn-2"}), TARGET, answer)
    assert other_step.tool_calls[0].id != first.id
    assert (first.name, first.arguments) == ("github.search_issues", "{")


def test_oversized_calls_are_cut_to_the_contract_and_say_so() -> None:
    huge = RawAnswer("", [RawToolCall("x" * 500, "n" * 300, "a" * 70_000)], "tool_calls", None)
    result = completion(call(), TARGET, huge)
    [tool_call] = result.tool_calls
    assert len(tool_call.id) <= 128 and len(tool_call.name) == 128
    assert len(tool_call.arguments) == 65_536
    assert "tool call 0 cut to the contract's size limits" in result.warnings
    # No usage reported: the bound is billed, never nothing (and never over max_tokens).
    assert result.prompt_tokens == prompt_tokens_bound(call()) and result.completion_tokens == 100


def test_stream_fragments_are_joined_by_index() -> None:
    fold = StreamFold()
    for piece in [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Looking"}), chunk({"content": " closer."}),
        chunk({"tool_calls": [{"index": 1, "id": "b", "type": "function",
                               "function": {"name": "prometheus_query", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {
            "name": "github_recent_commits", "arguments": '{"r'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"query": "up"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'epo": "o/n"}'}}]}),
        chunk({}, finish="tool_calls"),
        chunk(usage=(12, 34)),
    ]:
        fold.add(piece)
    answer = fold.answer()
    assert answer.content == "Looking closer." and answer.finish_reason == "tool_calls"
    assert answer.tool_calls == [RawToolCall("a", "github_recent_commits", '{"repo": "o/n"}'),
                                 RawToolCall("b", "prometheus_query", '{"query": "up"}')]
    assert answer.usage == (12, 34)


def test_a_stream_without_a_finish_reason_lost_its_answer() -> None:
    fold = StreamFold()
    fold.add(chunk({"content": "half an ans"}))
    with pytest.raises(AnswerLost, match="stream ended before the answer was finished"):
        fold.answer()


def test_worst_case_bounds_the_prompt_by_its_bytes() -> None:
    wide = call(messages=[{"role": "user", "content": "ü" * 1000}])  # 2 bytes a character
    assert prompt_tokens_bound(wide) > 2000
    assert worst_case_usd(wide, TARGET) == pytest.approx(
        (prompt_tokens_bound(wide) * 1.0 + 100 * 2.0) / 1000)
    assert worst_case_usd(wide, Target(provider="offline", model="m")) == 0
