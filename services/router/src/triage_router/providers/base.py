"""The provider protocol and the two ways a provider can fail (the project's two kinds).

`ProviderUnavailable` (5xx, 429, timeout, connection) is temporary: the target is unhealthy
(it counts towards its circuit breaker). Its `AnswerLost` kind says the request reached the
target but the answer did not come back whole (timeout, a stream cut short): the vendor may
bill for it, so the budget charges it. `ProviderRejected` (400/422) is permanent for this
target: the request did not suit it (try the next one, record it, the target is fine).
str(e) is safe to audit: it never holds the prompt or a key.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.messages import ModelCall, ProposedAction, RequestedToolCall

from ..routes import Target


@dataclass(frozen=True)
class Completion:
    content: str
    # Deprecated alongside ModelResult.proposed_actions: write proposals of the draft step.
    proposed_actions: list[ProposedAction] = field(default_factory=list)
    tool_calls: list[RequestedToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Things the router should record but that did not fail the call (bad tool arguments).
    warnings: list[str] = field(default_factory=list)


class ProviderUnavailable(TemporaryError):
    """The target is unhealthy or overloaded right now: fall back, count for the breaker."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.UPSTREAM_UNAVAILABLE)


class AnswerLost(ProviderUnavailable):
    """The request reached the target but its answer was lost (timeout, cut stream): the
    target is unhealthy, and the vendor may still bill for the request."""


class ProviderRejected(PermanentError):
    """The target refused this request (bad request): fall back, do not blame the target."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.UPSTREAM_REJECTED)


class Provider(Protocol):
    name: str

    async def complete(self, call: ModelCall, target: Target) -> Completion: ...

    async def aclose(self) -> None: ...


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
