"""The draft prompt. Its user message format is a contract with the router's offline
provider (which parses it), so it is built in exactly one place and kept byte-stable."""

import json

from triage_contracts.messages import ChatMessage, Evidence, ToolSpec
from triage_contracts.redact import redact_text
from triage_contracts.tools import TOOLS


def user_message(question: str, evidence: list[Evidence]) -> str:
    payload = json.dumps([item.model_dump(mode="json") for item in evidence])
    return f"<question>{question}</question>\n<evidence>\n{payload}\n</evidence>"


def draft_messages(instructions: str, question: str, evidence: list[Evidence]) -> list[ChatMessage]:
    """System = the skill's instructions; user = question + evidence. Secrets redacted:
    nothing secret may reach a model provider."""
    return [
        ChatMessage(role="system", content=redact_text(instructions)),
        ChatMessage(role="user", content=redact_text(user_message(question, evidence))),
    ]


def write_tool_specs(write_tools: list[str]) -> list[ToolSpec]:
    return [TOOLS[name].spec() for name in write_tools]
