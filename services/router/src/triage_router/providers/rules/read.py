"""Reading the conversation the orchestrator builds (its format is a contract, see the
orchestrator's `conversation.py`): the question, the `<context>` block, the calls already
made and what each returned."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from triage_contracts.messages import ChatMessage, ModelCall

_TAG = re.compile(r"<(question|context)>(.*?)</\1>", re.DOTALL)
_OUTPUT = re.compile(r'<tool_output tool="([^"]+)" call="([^"]+)"[^>]*>\n(.*)\n</tool_output>',
                     re.DOTALL)


@dataclass(frozen=True)
class Output:
    tool: str
    arguments: dict[str, Any]
    status: str
    data: Any = None
    error: str = ""


@dataclass
class Conversation:
    question: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    final: bool = False
    turn: int = 1

    def made(self, tool: str, **arguments: Any) -> bool:
        """Whether a call of `tool` with at least these arguments was already made."""
        return any(o.tool == tool and all(o.arguments.get(k) == v for k, v in arguments.items())
                   for o in self.outputs)

    def data(self, tool: str) -> list[Any]:
        return [o.data for o in self.outputs if o.tool == tool and o.status != "error"]

    @property
    def repos(self) -> list[str]:
        return [str(r) for r in self.context.get("repos") or []]

    @property
    def repo(self) -> str | None:
        repo = self.context.get("default_repo")
        return str(repo) if repo else (self.repos[0] if len(self.repos) == 1 else None)

    def service(self, repo: str | None) -> str | None:
        services = self.context.get("services") or {}
        return str(services.get(repo) or (repo.split("/")[-1] if repo else "")) or None


def read(call: ModelCall) -> Conversation:
    convo = Conversation(offered=[t.name for t in call.tools], final=call.tool_choice == "none")
    first = next((m for m in call.messages if m.role == "user"), None)
    if first is not None:
        tags = dict((name, body) for name, body in _TAG.findall(first.content))
        convo.question = tags.get("question", first.content).strip()
        convo.context = _json(tags.get("context", "{}")) or {}
    convo.outputs = _outputs(call.messages)
    convo.turn = 1 + sum(1 for m in call.messages if m.role == "assistant")
    return convo


def _outputs(messages: list[ChatMessage]) -> list[Output]:
    arguments: dict[str, dict[str, Any]] = {}
    outputs = []
    for message in messages:
        for requested in message.tool_calls:
            arguments[requested.id] = _json(requested.arguments) or {}
        if message.role != "tool":
            continue
        found = _OUTPUT.search(message.content)
        if found is None:
            continue
        body = _json(found.group(3).replace("<\\/", "</")) or {}
        outputs.append(Output(
            tool=found.group(1), arguments=arguments.get(message.tool_call_id or "", {}),
            status=str(body.get("status", "error")), data=body.get("data"),
            error=str(body.get("error") or "")))
    return outputs


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
