"""Tool calls already answered, kept by run and step in the KV bucket `triage-tool-results`.

A call is redelivered when the tools service dies after publishing its result but before
acking it. Running it again would hit GitHub or Prometheus a second time (and could see
different data); instead the stored result is re-published under the same message id, which
JetStream drops as a duplicate when the first copy arrived. The result is stored before it
is published, so no crash window re-runs a call whose answer went out.
"""

import re

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError
from triage_contracts.errors import TemporaryError
from triage_contracts.messages import ToolCall, ToolResult

_UNSAFE = re.compile(r"[^A-Za-z0-9_=-]")


def key(call: ToolCall) -> str:
    return ".".join(_UNSAFE.sub("_", part) for part in (call.team_id, call.run_id, call.step_id))


class Answered:
    def __init__(self) -> None:
        self._kv: KeyValue | None = None

    def bind(self, kv: KeyValue) -> None:
        self._kv = kv

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise TemporaryError("the answered-calls store is not bound yet (service starting)")
        return self._kv

    async def get(self, call: ToolCall) -> ToolResult | None:
        """The result this very call was answered with before, if any."""
        try:
            entry = await self.kv.get(key(call))
        except KeyNotFoundError:
            return None
        try:
            result = ToolResult.model_validate_json(entry.value or b"")
        except ValidationError:
            return None  # unreadable: answer again
        return result if result.tool == call.tool else None

    async def put(self, call: ToolCall, result: ToolResult) -> None:
        await self.kv.put(key(call), result.model_dump_json().encode())
