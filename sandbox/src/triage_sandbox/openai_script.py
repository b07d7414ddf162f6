"""The scripted model's rules: what a test posts to `/sandbox/script`, and which rule
answers a chat-completions request. Pure.

A rule is `{"match": {...}, "reply": {...}}`. Every field of `match` is optional and all
given ones must hold: `user_contains` (a substring of the first user message), `turn`
(assistant messages in the request + 1), `tool_call_id` (a tool message answers that
id), `tool_contains` (a tool message's content contains it), `model`, `stream`. The first
rule that matches, in order, answers; `times` limits how many requests a rule answers.
A reply is `content` and/or `tool_calls` (arguments are a string sent verbatim, so they
may be malformed JSON on purpose; ids are generated when absent), or an `error` in
OpenAI's shape; `delay_s` waits before answering, `chunk_delay_s` between streamed chunks.
Rules are matched per request: concurrent conversations need no shared cursor.
"""

import math
import secrets
import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
               403: "invalid_request_error", 404: "invalid_request_error",
               429: "requests", 500: "server_error", 503: "server_error"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Match(Strict):
    user_contains: str | None = None
    turn: int | None = Field(default=None, ge=1)
    tool_call_id: str | None = None
    tool_contains: str | None = None
    model: str | None = None
    stream: bool | None = None


class ToolCallSpec(Strict):
    id: str | None = None
    name: str
    arguments: str = "{}"


class ErrorSpec(Strict):
    status: int = Field(ge=400, le=599)
    message: str
    type: str | None = None  # default: OpenAI's type for the status
    code: str | None = None
    param: str | None = None

    def body(self) -> dict[str, Any]:
        kind = self.type or ERROR_TYPES.get(self.status, "server_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param,
                          "code": self.code}}


class UsageSpec(Strict):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class Reply(Strict):
    content: str | None = None
    tool_calls: list[ToolCallSpec] = []
    error: ErrorSpec | None = None
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"] | None = None
    usage: UsageSpec | None = None  # default: estimated from character counts
    delay_s: float = Field(0.0, ge=0, le=600)
    chunk_delay_s: float = Field(0.0, ge=0, le=60)
    chunk_chars: int = Field(8, ge=1)  # characters per streamed content/arguments delta

    @model_validator(mode="after")
    def _one_kind(self) -> "Reply":
        answer = self.content is not None or bool(self.tool_calls)
        if answer == (self.error is not None):
            raise ValueError("a reply has content and/or tool_calls, or an error")
        return self


class Rule(Strict):
    match: Match = Match()
    reply: Reply
    times: int | None = Field(default=None, ge=1)


class Script(Strict):
    rules: list[Rule]
    models: list[str] = []  # served by /v1/models besides the defaults


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def turn_of(messages: list[dict[str, Any]]) -> int:
    return 1 + sum(1 for m in messages if m.get("role") == "assistant")


def first_user(messages: list[dict[str, Any]]) -> str:
    return next((_text(m.get("content")) for m in messages if m.get("role") == "user"), "")


def matches(match: Match, body: dict[str, Any]) -> bool:
    messages: list[dict[str, Any]] = body.get("messages") or []
    tools = [m for m in messages if m.get("role") == "tool"]
    checks = [
        match.user_contains is None or match.user_contains in first_user(messages),
        match.turn is None or match.turn == turn_of(messages),
        match.tool_call_id is None or any(m.get("tool_call_id") == match.tool_call_id
                                          for m in tools),
        match.tool_contains is None or any(match.tool_contains in _text(m.get("content"))
                                           for m in tools),
        match.model is None or match.model == body.get("model"),
        match.stream is None or match.stream == bool(body.get("stream")),
    ]
    return all(checks)


class Scripted:
    """The rules in force and how many uses each has left."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.left: list[int | None] = []

    def load(self, script: Script) -> None:
        self.rules, self.left = list(script.rules), [r.times for r in script.rules]

    def answer(self, body: dict[str, Any]) -> tuple[int, Reply] | None:
        """The first matching rule with uses left (its index and reply), used once."""
        for index, rule in enumerate(self.rules):
            left = self.left[index]
            if (left is None or left > 0) and matches(rule.match, body):
                self.left[index] = None if left is None else left - 1
                return index, rule.reply
        return None


def call_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "call_" + "".join(secrets.choice(alphabet) for _ in range(24))


def usage(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """Token counts: the scripted ones, else about four characters per token."""
    if reply.usage is not None:
        prompt, completion = reply.usage.prompt_tokens, reply.usage.completion_tokens
    else:
        sent = sum(len(_text(m.get("content"))) + len(str(m.get("tool_calls") or ""))
                   for m in body.get("messages") or [])
        sent += len(str(body.get("tools") or ""))
        made = len(reply.content or "") + sum(len(t.name) + len(t.arguments)
                                              for t in reply.tool_calls)
        prompt, completion = max(1, math.ceil(sent / 4)), max(1, math.ceil(made / 4))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}
