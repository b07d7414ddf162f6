"""The offline provider: a deterministic rules agent that needs no vendor and no key.

It speaks the same tool-calling protocol as a model: on the classify route it names the
first skill the keyword hints point at; on an investigation turn it reads the
conversation (the orchestrator's format), asks for the tools its rules want next, and
answers from what came back, citing only the links the tools returned and saying that
rules, not a model, wrote it. Same input, same output; no I/O, no clock, no randomness.
"""

import json
import re

from triage_contracts.messages import ModelCall, RequestedToolCall

from ..routes import Target
from .base import Completion
from .rules.answer import answer
from .rules.plan import next_calls
from .rules.read import read

MODEL = "offline-rules-1"
CLASSIFY_ROUTE = "classify"
_HINTS = re.compile(r"^Keyword hints[^:]*:\s*(.+)$", re.MULTILINE)
_SKILL = re.compile(r"^- ([a-z][a-z0-9-]*):", re.MULTILINE)


class OfflineProvider:
    name = "offline"

    async def complete(self, call: ModelCall, target: Target) -> Completion:
        return complete_offline(call)

    async def aclose(self) -> None:
        return None


def complete_offline(call: ModelCall) -> Completion:
    """The pure function behind the provider."""
    if call.route == CLASSIFY_ROUTE:
        return _sized(call, Completion(content=classify(call)))
    convo = read(call)
    wanted = [] if convo.final else next_calls(convo)
    if wanted:
        calls = [RequestedToolCall(id=f"call_t{convo.turn}_{index}", name=tool,
                                   arguments=json.dumps(args, sort_keys=True))
                 for index, (tool, args) in enumerate(wanted)]
        return _sized(call, Completion(content="", tool_calls=calls, finish_reason="tool_calls"))
    return _sized(call, Completion(content=answer(convo)))


def classify(call: ModelCall) -> str:
    """The first keyword-hinted skill, else the last listed one (the fallback)."""
    system = next((m.content for m in call.messages if m.role == "system"), "")
    names = _SKILL.findall(system)
    hints = _HINTS.search(system)
    hinted = [h.strip() for h in hints.group(1).split(",")] if hints else []
    chosen = next((h for h in hinted if h in names), None)
    return chosen or (names[-1] if names else "general")


def _sized(call: ModelCall, completion: Completion) -> Completion:
    """Token counts estimated from characters (offline calls cost nothing)."""
    prompt = sum(len(m.content) + len(str(m.tool_calls)) for m in call.messages) // 4
    output = (len(completion.content) + len(str(completion.tool_calls))) // 4
    return Completion(content=completion.content, tool_calls=completion.tool_calls,
                      finish_reason=completion.finish_reason, prompt_tokens=prompt,
                      completion_tokens=output)


__all__ = ["MODEL", "OfflineProvider", "classify", "complete_offline"]
