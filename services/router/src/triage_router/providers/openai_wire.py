"""The chat-completions wire format, both ways: a ModelCall as the request body the API wants,
and the API's answer (`RawAnswer`, whole or folded from a stream) as a Completion.

What the model sees: assistant turns with their `tool_calls` (content null when empty), tool
output as `tool` messages answering a `tool_call_id`, the offered tools and `tool_choice`.
Tool names cross as their one dot-free encoding (`wire_name` / `from_wire`). The arguments a
model writes stay the raw text it wrote: malformed JSON is not a failure of the call (the run
answers it to the model as a tool error). A tool call without an id gets a deterministic one.
Only write tools still become `proposed_actions` (the deprecated draft-step path).
"""

import json
from dataclasses import dataclass, field
from typing import Any

from triage_contracts.ids import stable_id
from triage_contracts.messages import (
    ChatMessage,
    ModelCall,
    ProposedAction,
    RequestedToolCall,
    ToolSpec,
)
from triage_contracts.tools import WRITE_TOOLS, from_wire, wire_name

from ..cost import prompt_tokens_bound
from ..routes import Target
from .base import Completion, ProviderUnavailable, action_summary, max_tokens_for

_ID_CHARS = 128  # RequestedToolCall's limits
_NAME_CHARS = 128
_ARGUMENT_CHARS = 65_536


@dataclass(frozen=True)
class RawToolCall:
    """A function call as the vendor sent it (some servers omit the id)."""

    id: str | None
    name: str
    arguments: str


@dataclass(frozen=True)
class RawAnswer:
    content: str
    tool_calls: list[RawToolCall]
    finish_reason: str
    usage: tuple[int, int] | None  # (prompt, completion) tokens, when the vendor said
    warnings: list[str] = field(default_factory=list)


def request_body(call: ModelCall, target: Target) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": target.model,
        "messages": [wire_message(m) for m in call.messages],
        "max_tokens": max_tokens_for(call, target),
    }
    if call.tools:
        body["tools"] = [wire_tool(t) for t in call.tools]
        body["tool_choice"] = call.tool_choice
    if target.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def wire_message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return _tool_output(message)
    if message.role == "assistant" and message.tool_calls:
        return {"role": "assistant", "content": message.content or None,
                "tool_calls": [_wire_call(c) for c in message.tool_calls]}
    return {"role": message.role, "content": message.content}


def _tool_output(message: ChatMessage) -> dict[str, Any]:
    if message.tool_call_id is None:
        # Tool output from before the loop answers no call, and the API requires one: it
        # travels as clearly labelled user content.
        return {"role": "user", "content": f"[tool output]\n{message.content}"}
    return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}


def _wire_call(call: RequestedToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function",
            "function": {"name": wire_name(call.name), "arguments": call.arguments}}


def wire_tool(tool: ToolSpec) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": wire_name(tool.name), "description": tool.description,
        "parameters": tool.parameters}}


def answer_of(response: Any) -> RawAnswer:
    """A whole (not streamed) chat completion."""
    if not response.choices:
        raise ProviderUnavailable("bad response: no choices")
    choice = response.choices[0]
    calls: list[RawToolCall] = []
    warnings: list[str] = []
    for tool_call in choice.message.tool_calls or []:
        function = getattr(tool_call, "function", None)
        if function is None:
            warnings.append(f"ignored non-function tool call of type {tool_call.type!r}")
            continue
        calls.append(RawToolCall(getattr(tool_call, "id", None), function.name or "",
                                 function.arguments or ""))
    usage = response.usage
    tokens = (int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)) if usage else None
    return RawAnswer(choice.message.content or "", calls, choice.finish_reason or "", tokens,
                     warnings)


def completion(call: ModelCall, target: Target, answer: RawAnswer) -> Completion:
    warnings = list(answer.warnings)
    tool_calls = [_requested(call, i, raw, warnings) for i, raw in enumerate(answer.tool_calls)]
    actions = proposed_actions(tool_calls, warnings)
    if answer.usage is not None:
        prompt, output = answer.usage
    else:  # some compatible servers omit usage: bill the upper bound rather than nothing
        prompt = prompt_tokens_bound(call)
        written = answer.content + "".join(c.arguments for c in answer.tool_calls)
        output = min(max_tokens_for(call, target), len(written.encode()))
        warnings.append("provider reported no usage; tokens bounded from sizes")
    return Completion(content=answer.content, proposed_actions=actions, tool_calls=tool_calls,
                      finish_reason=answer.finish_reason, prompt_tokens=prompt,
                      completion_tokens=output, warnings=warnings)


def _requested(call: ModelCall, index: int, raw: RawToolCall,
               warnings: list[str]) -> RequestedToolCall:
    call_id = raw.id if raw.id and len(raw.id) <= _ID_CHARS else _stable_id(call, index)
    name = from_wire(raw.name)
    if len(name) > _NAME_CHARS or len(raw.arguments) > _ARGUMENT_CHARS:
        # Cut to the contract's limits: an unknown name or broken JSON is answered to the
        # model as a tool error, which is what such a call deserves.
        warnings.append(f"tool call {index} cut to the contract's size limits")
    return RequestedToolCall(id=call_id, name=name[:_NAME_CHARS],
                             arguments=raw.arguments[:_ARGUMENT_CHARS])


def _stable_id(call: ModelCall, index: int) -> str:
    """The same call id on every redelivery of this step, and unique across the run."""
    return stable_id("call_", call.run_id, call.step_id, str(index))


def proposed_actions(tool_calls: list[RequestedToolCall],
                     warnings: list[str]) -> list[ProposedAction]:
    """Deprecated: write tools the model called, as proposals for the draft step."""
    actions: list[ProposedAction] = []
    for tool_call in tool_calls:
        if tool_call.name not in WRITE_TOOLS:
            continue
        try:
            arguments = json.loads(tool_call.arguments or "{}")
        except json.JSONDecodeError:
            warnings.append(f"ignored {tool_call.name}: arguments are not valid JSON")
            continue
        if not isinstance(arguments, dict):
            warnings.append(f"ignored {tool_call.name}: arguments are not a JSON object")
            continue
        actions.append(ProposedAction(tool=tool_call.name, arguments=arguments,
                                      summary=action_summary(tool_call.name, arguments)))
    return actions
