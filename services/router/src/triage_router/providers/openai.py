"""OpenAI-compatible chat completions through the official SDK (OpenAI, Azure, vLLM, Ollama:
anything that speaks /v1/chat/completions). The only module that talks to a model vendor;
the wire format is `openai_wire.py`, streamed answers are folded by `openai_stream.py`.

Retries are the router's job (fallback + breaker + JetStream redelivery), so the SDK's own
retries are off: a failing target must fail fast so the next one gets its turn. A timeout,
streamed or not, bounds the whole request; once the request has reached the vendor, a lost
answer is `AnswerLost` (the vendor may bill for it).
"""

import asyncio
import logging
from typing import Any

import openai
from openai import AsyncOpenAI
from pydantic import SecretStr
from triage_contracts.messages import ModelCall

from ..routes import Target
from .base import AnswerLost, Completion, ProviderRejected, ProviderUnavailable
from .openai_stream import StreamFold
from .openai_wire import RawAnswer, answer_of, completion, request_body

_ERROR_CHARS = 300
# The SDK and its HTTP client describe requests at DEBUG; prompts and keys must never reach
# the logs, whatever LOG_LEVEL says.
_QUIET_LOGGERS = ("openai", "httpx", "httpx2", "httpcore")


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: SecretStr, base_url: str | None, timeout: float) -> None:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._timeout = timeout
        self._client = AsyncOpenAI(
            api_key=api_key.get_secret_value(), base_url=base_url, max_retries=0,
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, call: ModelCall, target: Target) -> Completion:
        body = request_body(call, target)
        try:
            async with asyncio.timeout(self._timeout):
                answer = await (self._streamed(body) if target.stream else self._whole(body))
        except TimeoutError as exc:
            raise AnswerLost("timeout") from exc
        return completion(call, target, answer)

    async def _whole(self, body: dict[str, Any]) -> RawAnswer:
        return answer_of(await self._create(body))

    async def _streamed(self, body: dict[str, Any]) -> RawAnswer:
        stream = await self._create(body)
        fold = StreamFold()
        try:
            async with stream:
                async for chunk in stream:
                    fold.add(chunk)
        except openai.APIError as exc:  # cut connection, read timeout, an error event
            raise AnswerLost(f"stream failed: {_short(exc.message)}") from exc
        except ValueError as exc:  # a chunk that is not JSON
            raise AnswerLost("stream failed: a chunk did not parse") from exc
        return fold.answer()

    async def _create(self, body: dict[str, Any]) -> Any:
        try:
            return await self._client.chat.completions.create(**body)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise ProviderRejected(f"HTTP {exc.status_code}: {_short(exc.message)}") from exc
        except openai.APIStatusError as exc:
            raise ProviderUnavailable(f"HTTP {exc.status_code}: {_short(exc.message)}") from exc
        except openai.APITimeoutError as exc:
            raise AnswerLost("timeout") from exc
        except openai.APIConnectionError as exc:
            raise ProviderUnavailable(f"connection error: {_short(str(exc))}") from exc
        except openai.APIError as exc:  # e.g. a response that does not parse
            raise ProviderUnavailable(f"bad response: {_short(exc.message)}") from exc


def _short(text: str, limit: int = _ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
