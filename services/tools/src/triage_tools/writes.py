"""Writes to the outside world: only with a human approval of exactly this action, and once.

The approval is checked twice over: the grant's digest must be the digest of this very
call (tool, arguments, run, team), and its Ed25519 signature must verify with a trusted
public key valid for the team before its signed expiry (`triage_contracts.grants`), so a
grant can be neither forged (this service holds no private key) nor reused for other
arguments. Exactly once has two layers:
a claim in the idempotency KV bucket (`write.<approval_id>`, `create()` wins once; the
stored result answers every redelivery), and the marker hidden in the written text, which
finds a write done just before a crash that left the claim pending.
"""

import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts.approvals import action_digest
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.grants import GrantRefused, Keyring, claims_of_grant
from triage_contracts.ids import utcnow
from triage_contracts.messages import ToolCall, ToolStatus

from .errors import ToolError

Outcome = tuple[ToolStatus, Any]
_KEY_SAFE = re.compile(r"^[A-Za-z0-9_=-]{1,128}$")


class ApprovalMismatch(ToolError):
    def __init__(self, why: str, code: ErrorCode = ErrorCode.APPROVAL_INVALID) -> None:
        super().__init__(f"approval does not match this action: {why}", code)


def digest_of(call: ToolCall) -> str:
    return action_digest(call.tool, call.arguments, call.run_id, call.team_id)


def idempotency_key(approval_id: str) -> str:
    suffix = approval_id if _KEY_SAFE.match(approval_id) else hashlib.sha256(
        approval_id.encode()).hexdigest()
    return f"write.{suffix}"


class WriteGuard:
    def __init__(self, keyring: Keyring, stale_after_s: float) -> None:
        self.keyring = keyring
        # A pending claim older than this belongs to a worker that died: it may be taken over.
        self.stale_after_s = stale_after_s
        self._kv: KeyValue | None = None

    def bind(self, kv: KeyValue) -> None:
        self._kv = kv

    def verify(self, call: ToolCall) -> None:
        grant = call.grant
        if grant is None:
            raise ApprovalMismatch("no approval grant")
        try:  # expires_at is signed: an approval is acted on soon, not replayed days later
            self.keyring.verify(claims_of_grant(grant, call.team_id), grant.signature,
                                action_digest=digest_of(call), now=utcnow())
        except GrantRefused as exc:
            raise ApprovalMismatch(str(exc), exc.code) from exc

    async def perform(self, call: ToolCall, act: Callable[[], Awaitable[Outcome]]) -> tuple[
            Outcome, bool]:
        """Run `act` at most once per approval: (outcome, True if it ran now)."""
        assert call.grant is not None, "verify() first"
        kv = self._require_kv()
        key = idempotency_key(call.grant.approval_id)
        stored = await self._claim(kv, key, call)
        if stored is not None:
            if stored["status"] == ToolStatus.ERROR:
                raise ToolError(stored.get("error") or "the approved write failed before")
            return (ToolStatus(stored["status"]), stored["data"]), False
        try:
            status, data = await act()
        except ToolError as exc:  # rejected upstream: final, a retry needs a new approval
            await self._finish(kv, key, call, ToolStatus.ERROR, None, str(exc))
            raise
        await self._finish(kv, key, call, status, data, None)
        return (status, data), True

    async def _finish(self, kv: KeyValue, key: str, call: ToolCall, status: ToolStatus,
                      data: Any, error: str | None) -> None:
        record = {"state": "done", "status": status.value, "data": data, "error": error,
                  "run_id": call.run_id, "step_id": call.step_id, "done_at": time.time()}
        await kv.put(key, json.dumps(record).encode())

    async def _claim(self, kv: KeyValue, key: str, call: ToolCall) -> dict[str, Any] | None:
        """Claim the write; a finished record (to reuse) when it was already performed."""
        claim = json.dumps({"state": "pending", "run_id": call.run_id, "step_id": call.step_id,
                            "claimed_at": time.time()}).encode()
        try:
            await kv.create(key, claim)
            return None
        except KeyWrongLastSequenceError:
            entry = await kv.get(key)
        record: dict[str, Any] = json.loads(entry.value or b"{}")
        if record.get("state") == "done":
            return record
        age = time.time() - float(record.get("claimed_at", 0))
        if age < self.stale_after_s:
            raise TemporaryError(f"write {key} is in progress elsewhere",
                                 ErrorCode.CONFLICT, delay=self.stale_after_s - age)
        try:  # compare-and-set: of two workers taking over, one wins
            await kv.update(key, claim, last=entry.revision)
        except KeyWrongLastSequenceError as exc:
            raise TemporaryError(f"write {key} was taken over elsewhere",
                                 ErrorCode.CONFLICT) from exc
        return None

    def _require_kv(self) -> KeyValue:
        if self._kv is None:
            raise TemporaryError("idempotency store not ready (service starting)")
        return self._kv
