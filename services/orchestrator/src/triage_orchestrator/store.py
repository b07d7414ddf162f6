"""Run state in the JetStream KV bucket `triage-runs`, with compare-and-set.

`create` refuses to overwrite (a redelivered request finds the existing run instead of
starting a second one); `save` only succeeds against the revision that was read, so two
replicas (or two results of one run handled at once) can never lose each other's update.
"""

import re

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import ValidationError
from triage_contracts.bus import kv_keys
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.streams import Buckets

from .commands import ThreadContext
from .state import RunState, run_key

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_=-]")


class Conflict(TemporaryError):
    """Someone else saved the run since it was read: reload and decide again."""


class RunStore:
    def __init__(self, js: JetStreamContext, bucket: str = Buckets.RUNS.name) -> None:
        self._js = js
        self._bucket = bucket
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        self._kv = await self._js.key_value(self._bucket)

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("RunStore.open() was not awaited")
        return self._kv

    async def load(self, team_id: str, run_id: str) -> tuple[RunState, int] | None:
        return await self.load_key(run_key(team_id, run_id))

    async def load_key(self, key: str) -> tuple[RunState, int] | None:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        try:
            return RunState.model_validate_json(entry.value or b""), int(entry.revision or 0)
        except ValidationError as exc:
            raise PermanentError(f"stored run {key} is unreadable: {exc.error_count()} errors",
                                 ErrorCode.INTERNAL) from exc

    async def create(self, state: RunState) -> tuple[RunState, int, bool]:
        """(state, revision, created). When the run exists, its stored state is returned."""
        try:
            revision = await self.kv.create(state.key, _encode(state))
            return state, revision, True
        except KeyWrongLastSequenceError:
            loaded = await self.load_key(state.key)
            if loaded is None:  # deleted in between: rare, let the caller retry
                raise Conflict(state.key, ErrorCode.CONFLICT) from None
            return loaded[0], loaded[1], False

    async def save(self, state: RunState, revision: int) -> int:
        try:
            return await self.kv.update(state.key, _encode(state), last=revision)
        except KeyWrongLastSequenceError as exc:
            raise Conflict(state.key, ErrorCode.CONFLICT) from exc

    async def keys(self, team_id: str | None = None) -> list[str]:
        keys = await kv_keys(self._js, self._bucket)
        return [k for k in keys if team_id is None or k.startswith(f"{team_id}.")]


class ThreadStore:
    """The context store: per Slack thread, what the last run there answered (the bucket
    `triage-threads`; records expire with the bucket's TTL)."""

    def __init__(self, js: JetStreamContext, bucket: str = Buckets.THREADS.name) -> None:
        self._js = js
        self._bucket = bucket
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        self._kv = await self._js.key_value(self._bucket)

    @staticmethod
    def key(team_id: str, channel_id: str, thread_ts: str) -> str:
        parts = [_KEY_UNSAFE.sub("_", p) for p in (team_id, channel_id, thread_ts)]
        return ".".join(parts)

    async def load(self, team_id: str, channel_id: str, thread_ts: str
                   ) -> ThreadContext | None:
        assert self._kv is not None, "ThreadStore.open() was not awaited"
        try:
            entry = await self._kv.get(self.key(team_id, channel_id, thread_ts))
        except KeyNotFoundError:
            return None
        try:
            return ThreadContext.model_validate_json(entry.value or b"")
        except ValidationError:
            return None  # an unreadable record: the follow-up starts afresh

    async def save(self, team_id: str, channel_id: str, thread_ts: str,
                   record: ThreadContext) -> None:
        assert self._kv is not None, "ThreadStore.open() was not awaited"
        await self._kv.put(self.key(team_id, channel_id, thread_ts),
                           record.model_dump_json().encode())

    async def forget(self, team_id: str, channel_id: str, thread_ts: str) -> None:
        assert self._kv is not None, "ThreadStore.open() was not awaited"
        await self._kv.delete(self.key(team_id, channel_id, thread_ts))


def _encode(state: RunState) -> bytes:
    return state.model_dump_json().encode()
