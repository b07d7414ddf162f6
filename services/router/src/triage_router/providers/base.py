"""The provider protocol and the two ways a provider can fail.

Failures are split by what the router should do next: `ProviderUnavailable` (5xx, 429,
timeout, connection) says the target is unhealthy (counts towards its circuit breaker);
`ProviderRejected` (400/422) says the request did not suit this target (try the next one,
record it, but the target itself is fine).
"""

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from triage_contracts.messages import ModelCall, ProposedAction

from ..routes import Target


@dataclass(frozen=True)
class Completion:
    content: str
    proposed_actions: list[ProposedAction] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Things the router should record but that did not fail the call (bad tool arguments).
    warnings: list[str] = field(default_factory=list)


class ProviderError(Exception):
    """Base of provider failures; str(e) is safe to audit (no prompt, no key)."""


class ProviderUnavailable(ProviderError):
    """The target is unhealthy or overloaded right now: fall back, count for the breaker."""


class ProviderRejected(ProviderError):
    """The target refused this request (bad request): fall back, do not blame the target."""


class Provider(Protocol):
    name: str

    async def complete(self, call: ModelCall, target: Target) -> Completion: ...

    async def aclose(self) -> None: ...


def tool_name_to_wire(name: str) -> str:
    """OpenAI function names forbid dots: github.comment_issue -> github__comment_issue."""
    return name.replace(".", "__")


def tool_name_from_wire(name: str) -> str:
    return name.replace("__", ".")


def max_tokens_for(call: ModelCall, target: Target) -> int:
    return min(call.max_tokens, target.max_tokens) if target.max_tokens else call.max_tokens


def action_summary(tool: str, arguments: dict[str, Any]) -> str:
    """One line a human approver reads before saying yes (same wording for every provider)."""
    target = f"{arguments.get('repo')}#{arguments.get('issue_number')}"
    if tool == "github.comment_issue" and "repo" in arguments and "issue_number" in arguments:
        return f"Comment on {target}"
    if "repo" in arguments and "issue_number" in arguments:
        return f"{tool} on {target}"
    text = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    return f"{tool} {text if len(text) <= 120 else text[:119] + '…'}"
