"""Answers already given, so a redelivered ModelCall never calls (or pays) a model again.

`model.<team>.<run>.<step>` in the idempotency bucket holds the step's final ModelResult,
the audit facts that went with it, and the attempt that paid for it (with the ledger key of
its hold). It is written before the result is published, with `create()`: the first answer
wins, and a redelivery republishes it under the same Nats-Msg-Id (JetStream drops the
copy) and re-emits its audit event under the same dedupe key.
"""

import re
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field
from triage_contracts.bus import TRANSIENT_NATS_ERRORS
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import stable_id
from triage_contracts.messages import ModelCall, ModelResult

_KEY_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class AuditFacts(BaseModel):
    """What the call's audit event says (sizes and names only: no prompt, no answer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: str = "ok"
    actor: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)
    cost_usd: float = 0.0


class StoredAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt: str
    ledger_key: str | None = None  # where the attempt's hold was, when it had one
    result: ModelResult
    audit: AuditFacts


class AnswerStore:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, call: ModelCall) -> StoredAnswer | None:
        try:
            entry = await self._kv.get(answer_key(call))
        except KeyNotFoundError:
            return None
        except TRANSIENT_NATS_ERRORS as exc:
            raise TemporaryError(f"answer store unavailable: {type(exc).__name__}") from exc
        return StoredAnswer.model_validate_json(entry.value or b"{}")

    async def keep(self, call: ModelCall, answer: StoredAnswer) -> StoredAnswer:
        """Store `answer` unless the step has one already; returns the one that is kept."""
        try:
            await self._kv.create(answer_key(call), answer.model_dump_json().encode())
        except KeyWrongLastSequenceError:
            kept = await self.get(call)  # another delivery of the same call came first
            return kept or answer
        except TRANSIENT_NATS_ERRORS as exc:
            raise TemporaryError(f"answer store unavailable: {type(exc).__name__}") from exc
        return answer


def answer_key(call: ModelCall) -> str:
    # Step ids are free text; KV keys are not. A hashed step starts with "=", which a
    # plain one cannot, so the two never collide.
    step = call.step_id if _KEY_TOKEN.match(call.step_id) else stable_id("=", call.step_id)
    return f"model.{call.team_id}.{call.run_id}.{step}"
