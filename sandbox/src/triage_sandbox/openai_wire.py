"""The chat-completions wire protocol of the scripted model: the checks OpenAI makes on a
request (with its error texts), and the response and stream-chunk bodies the official
SDK parses. Pure."""

import re
import secrets
import time
from typing import Any

from .openai_script import ErrorSpec, Reply, ToolCallSpec, usage

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def _invalid(message: str, param: str | None = None, code: str | None = None,
             status: int = 400) -> ErrorSpec:
    return ErrorSpec(status=status, message=message, param=param, code=code)


def _message_problem(i: int, message: Any) -> ErrorSpec | None:
    if not isinstance(message, dict):
        return _invalid(f"Invalid type for 'messages[{i}]': expected an object.",
                        f"messages[{i}]", "invalid_type")
    role = message.get("role")
    if role not in ROLES:
        return _invalid(f"Invalid value: '{role}'. Supported values are: 'system', "
                        "'assistant', 'user', 'function', 'tool', and 'developer'.",
                        f"messages[{i}].role", "invalid_value")
    if role == "tool" and not message.get("tool_call_id"):
        return _invalid(f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                        f"messages[{i}].tool_call_id", "missing_required_parameter")
    return None


def _unanswered(index: int, pending: list[str]) -> ErrorSpec:
    return _invalid("An assistant message with 'tool_calls' must be followed by tool "
                    "messages responding to each 'tool_call_id'. The following "
                    f"tool_call_ids did not have response messages: {', '.join(pending)}",
                    f"messages.[{index}].role")


def _sequence_problem(messages: list[dict[str, Any]]) -> ErrorSpec | None:
    """Tool messages answer the ids of the assistant message just before them, all of
    them, before anything else comes."""
    pending: list[str] = []
    asked_at, answering = -1, False
    for i, message in enumerate(messages):
        if message["role"] == "tool":
            if not answering:
                return _invalid("Invalid parameter: messages with role 'tool' must be a "
                                "response to a preceeding message with 'tool_calls'.",
                                f"messages.[{i}].role")
            call = message["tool_call_id"]
            if call not in pending:
                return _invalid(f"Invalid parameter: 'tool_call_id' of '{call}' not found "
                                "in 'tool_calls' of previous message.",
                                f"messages.[{i}].tool_call_id")
            pending.remove(call)
            continue
        if pending:
            return _unanswered(asked_at, pending)
        calls = message.get("tool_calls") if message["role"] == "assistant" else None
        answering = bool(calls)
        pending = [c.get("id", "") for c in calls or [] if isinstance(c, dict)]
        asked_at = i
    return _unanswered(asked_at, pending) if pending else None


def _tools_problem(tools: Any) -> ErrorSpec | None:
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        name = (tool.get("function") or {}).get("name") if isinstance(tool, dict) else None
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            return _invalid(f"Invalid 'tools[{i}].function.name': string does not match "
                            "pattern. Expected a string that matches the pattern "
                            "'^[a-zA-Z0-9_-]+$'.", f"tools[{i}].function.name",
                            "invalid_value")
    return None


def request_problem(body: dict[str, Any], models: set[str]) -> ErrorSpec | None:
    """What OpenAI would reject in this request, or None."""
    if not body.get("model"):
        return _invalid("you must provide a model parameter")
    messages = body.get("messages")
    if messages is None:
        return _invalid("Missing required parameter: 'messages'.", "messages",
                        "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        return _invalid("Invalid 'messages': empty array. Expected an array with minimum "
                        "length 1, but got an empty array instead.", "messages",
                        "empty_array")
    for i, message in enumerate(messages):
        problem = _message_problem(i, message)
        if problem:
            return problem
    problem = _sequence_problem(messages) or _tools_problem(body.get("tools"))
    if problem:
        return problem
    if body["model"] not in models:
        return _invalid(f"The model `{body['model']}` does not exist or you do not have "
                        "access to it.", code="model_not_found", status=404)
    return None


def _calls(calls: list[ToolCallSpec], ids: list[str]) -> list[dict[str, Any]]:
    return [{"id": i, "type": "function", "function": {"name": c.name,
                                                       "arguments": c.arguments}}
            for c, i in zip(calls, ids, strict=True)]


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _envelope(body: dict[str, Any], completion_id: str, created: int,
              kind: str) -> dict[str, Any]:
    return {"id": completion_id, "object": kind, "created": created, "model": body["model"],
            "service_tier": "default", "system_fingerprint": "fp_sandbox"}


def new_id() -> tuple[str, int]:
    return "chatcmpl-" + secrets.token_urlsafe(21)[:29], int(time.time())


def completion(body: dict[str, Any], reply: Reply, ids: list[str]) -> dict[str, Any]:
    """The non-streamed `chat.completion` body."""
    completion_id, created = new_id()
    message: dict[str, Any] = {"role": "assistant", "content": reply.content,
                               "refusal": None, "annotations": []}
    if reply.tool_calls:
        message["tool_calls"] = _calls(reply.tool_calls, ids)
    return {**_envelope(body, completion_id, created, "chat.completion"),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": _finish(reply)}],
            "usage": usage(body, reply)}


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _deltas(reply: Reply, ids: list[str]) -> list[dict[str, Any]]:
    """The deltas of one choice: role first, then content, then each tool call's id and
    name followed by its arguments in fragments, then an empty delta to finish."""
    first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
    deltas = [first]
    deltas += [{"content": p} for p in _pieces(reply.content or "", reply.chunk_chars)]
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, ids, strict=True)):
        head = {"index": index, "id": call_id, "type": "function",
                "function": {"name": call.name, "arguments": ""}}
        deltas.append({"tool_calls": [head]})
        deltas += [{"tool_calls": [{"index": index, "function": {"arguments": p}}]}
                   for p in _pieces(call.arguments, reply.chunk_chars)]
    if reply.content is None and reply.tool_calls:  # OpenAI merges role and first call
        first["content"] = None
        first.update(deltas.pop(1))
    return deltas


def chunks(body: dict[str, Any], reply: Reply, ids: list[str]) -> list[dict[str, Any]]:
    """The streamed `chat.completion.chunk` bodies, usage last when asked for."""
    completion_id, created = new_id()
    head = _envelope(body, completion_id, created, "chat.completion.chunk")
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    extra = {"usage": None} if with_usage else {}
    out = [{**head, "choices": [{"index": 0, "delta": d, "logprobs": None,
                                 "finish_reason": None}], **extra}
           for d in _deltas(reply, ids)]
    out.append({**head, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                     "finish_reason": _finish(reply)}], **extra})
    if with_usage:
        out.append({**head, "choices": [], "usage": usage(body, reply)})
    return out
