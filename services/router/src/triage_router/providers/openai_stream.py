"""Streamed chat completions folded into the same `RawAnswer` a whole response gives.

Chunks carry `choices[0].delta`: pieces of the content, and tool-call fragments keyed by
`index` (the id, type and name come with a call's first fragment, its arguments in pieces);
the choice's `finish_reason` closes the answer, and with `stream_options.include_usage` a last
chunk without choices carries the usage. A stream that ends without a finish reason lost its
answer (the vendor may still bill for it).
"""

from dataclasses import dataclass, field
from typing import Any

from .base import AnswerLost
from .openai_wire import RawAnswer, RawToolCall


@dataclass
class _CallPieces:
    id: str | None = None
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamFold:
    content: list[str] = field(default_factory=list)
    calls: dict[int, _CallPieces] = field(default_factory=dict)
    finish_reason: str = ""
    usage: tuple[int, int] | None = None

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = (int(chunk.usage.prompt_tokens or 0),
                          int(chunk.usage.completion_tokens or 0))
        for choice in chunk.choices or []:
            if choice.index != 0:
                continue  # n=1: other choices are never asked for
            if choice.delta is not None:
                self._add_delta(choice.delta)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def _add_delta(self, delta: Any) -> None:
        if delta.content:
            self.content.append(delta.content)
        for fragment in delta.tool_calls or []:
            pieces = self.calls.setdefault(fragment.index, _CallPieces())
            pieces.id = pieces.id or fragment.id
            function = fragment.function
            if function is not None:
                pieces.name.append(function.name or "")
                pieces.arguments.append(function.arguments or "")

    def answer(self) -> RawAnswer:
        if not self.finish_reason:
            raise AnswerLost("stream ended before the answer was finished")
        calls = [RawToolCall(p.id, "".join(p.name), "".join(p.arguments))
                 for _, p in sorted(self.calls.items())]
        return RawAnswer("".join(self.content), calls, self.finish_reason, self.usage)
