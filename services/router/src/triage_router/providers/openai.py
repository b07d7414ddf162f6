"""OpenAI-compatible chat completions through the official SDK (OpenAI, Azure, vLLM, Ollama:
anything that speaks /v1/chat/completions). The only module that talks to a model vendor.

Retries are the router's job (fallback + breaker + JetStream redelivery), so the SDK's own
retries are off: a failing target must fail fast so the next one gets its turn.
"""

import json
import logging
from typing import Any

import openai
from openai import AsyncOpenAI
from pydantic import SecretStr
from triage_contracts.messages import ChatMessage, ModelCall, ProposedAction, ToolSpec
from triage_contracts.tools import from_wire, wire_name

from ..routes import Target
from .base import (
    Completion,
    ProviderRejected,
    ProviderUnavailable,
    action_summary,
    max_tokens_for,
)

_ERROR_CHARS = 300
# The SDK and its HTTP client describe requests at DEBUG; prompts and keys must never reach
# the logs, whatever LOG_LEVEL says.
_QUIET_LOGGERS = ("openai", "httpx", "httpx2", "httpcore")


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: SecretStr, base_url: str | None, timeout: float) -> None:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._client = AsyncOpenAI(
            api_key=api_key.get_secret_value(), base_url=base_url, max_retries=0,
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, call: ModelCall, target: Target) -> Completion:
        request: dict[str, Any] = {
            "model": target.model,
            "messages": [_wire_message(m) for m in call.messages],
            "max_tokens": max_tokens_for(call, target),
        }
        if call.tools:
            request["tools"] = [_wire_tool(t) for t in call.tools]
        try:
            response = await self._client.chat.completions.create(**request)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise ProviderRejected(f"HTTP {exc.status_code}: {_short(exc.message)}") from exc
        except openai.APIStatusError as exc:
            raise ProviderUnavailable(f"HTTP {exc.status_code}: {_short(exc.message)}") from exc
        except openai.APITimeoutError as exc:
            raise ProviderUnavailable("timeout") from exc
        except openai.APIConnectionError as exc:
            raise ProviderUnavailable(f"connection error: {_short(str(exc))}") from exc
        except openai.APIError as exc:  # e.g. a response that does not parse
            raise ProviderUnavailable(f"bad response: {_short(exc.message)}") from exc
        return _completion(call, response)


def _wire_message(message: ChatMessage) -> dict[str, str]:
    # The contract's "tool" messages carry no tool_call_id, which the API requires; they are
    # tool output shown to the model, so they travel as clearly labelled user content.
    if message.role == "tool":
        return {"role": "user", "content": f"[tool output]\n{message.content}"}
    return {"role": message.role, "content": message.content}


def _wire_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": wire_name(tool.name),
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _completion(call: ModelCall, response: Any) -> Completion:
    if not response.choices:
        raise ProviderUnavailable("bad response: no choices")
    message = response.choices[0].message
    actions, warnings = _actions(message.tool_calls or [])
    content = message.content or ""
    usage = response.usage
    if usage is not None:
        prompt, completion = int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
    else:  # some compatible servers omit usage: estimate rather than bill nothing
        prompt = sum(len(m.content) for m in call.messages) // 4
        completion = len(content) // 4
        warnings.append("provider reported no usage; tokens estimated")
    return Completion(content=content, proposed_actions=actions, prompt_tokens=prompt,
                      completion_tokens=completion, warnings=warnings)


def _actions(tool_calls: list[Any]) -> tuple[list[ProposedAction], list[str]]:
    actions: list[ProposedAction] = []
    warnings: list[str] = []
    for tool_call in tool_calls:
        function = getattr(tool_call, "function", None)
        if function is None:
            warnings.append(f"ignored non-function tool call of type {tool_call.type!r}")
            continue
        tool = from_wire(function.name)
        try:
            arguments = json.loads(function.arguments or "{}")
        except json.JSONDecodeError:
            warnings.append(f"ignored {tool}: arguments are not valid JSON")
            continue
        if not isinstance(arguments, dict):
            warnings.append(f"ignored {tool}: arguments are not a JSON object")
            continue
        actions.append(ProposedAction(
            tool=tool, arguments=arguments, summary=action_summary(tool, arguments)))
    return actions, warnings


def _short(text: str, limit: int = _ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
