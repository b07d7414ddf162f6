"""Posting the agent's messages to Slack exactly once per run step.

A crash between "Slack posted" and "we recorded it" must not post twice on redelivery, so
each step is claimed in the idempotency bucket first (`pending`), the message carries the
run and step in its metadata, and a redelivery that finds a `pending` claim looks for that
message in the thread before posting again. The result always goes back to the run, also
when Slack refused (the orchestrator must learn that its reply did not arrive).
"""

import json
import re
from dataclasses import dataclass

import structlog
from faststream.nats import NatsBroker
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream, publish
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import stable_id
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind, NotifyRequest, NotifyResult
from triage_contracts.streams import Buckets

from .clients.slack import Posted, SlackClient, SlackRejected
from .team_slack import NOT_CONFIGURED, NoSlackFor, TeamSlack

log = get_logger("triage.ingress.notifier")
PENDING = b"pending"
__all__ = ["NOT_CONFIGURED", "Notifier", "Outcome", "record_key"]
_KEY_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    channel: str
    ts: str | None = None
    error: str | None = None
    reused: bool = False  # an earlier attempt had already posted it


def record_key(req: NotifyRequest) -> str:
    step = req.step_id if _KEY_TOKEN.match(req.step_id) else stable_id("s-", req.step_id)
    return f"notify.{req.team_id}.{req.run_id}.{step}"


def _record(value: bytes, channel: str) -> Posted:
    """A finished record: `{"channel", "ts"}`, or a bare ts written by an older notifier."""
    text = value.decode()
    if text.startswith("{"):
        record = json.loads(text)
        return Posted(channel=str(record["channel"]), ts=str(record["ts"]))
    return Posted(channel=channel, ts=text)


def _done(posted: Posted, reused: bool = False) -> Outcome:
    return Outcome(ok=True, channel=posted.channel, ts=posted.ts, reused=reused)


class Notifier:
    def __init__(self, broker: NatsBroker, teams: TeamSlack, audit: AuditEmitter):
        self.broker = broker
        self.teams = teams
        self.audit = audit
        self._kv: KeyValue | None = None

    @property
    def slack(self) -> SlackClient | None:
        """The single-workspace client (SLACK_BOT_TOKEN), if any."""
        return self.teams.default

    async def start(self) -> None:
        """Bind the idempotency bucket (provisioned by the runtime before this runs)."""
        self._kv = await jetstream(self.broker).key_value(Buckets.IDEMPOTENCY.name)

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise TemporaryError("notifier not started yet")
        return self._kv

    async def handle(self, req: NotifyRequest) -> None:
        with structlog.contextvars.bound_contextvars(run_id=req.run_id, team_id=req.team_id):
            try:
                slack = await self.teams.for_team(req.team_id)
            except NoSlackFor as exc:
                outcome = Outcome(ok=False, channel=req.channel_id, error=exc.error)
            else:
                outcome = await self._deliver(req, slack)
            await self._report(req, outcome)

    async def _deliver(self, req: NotifyRequest, slack: SlackClient) -> Outcome:
        key = record_key(req)
        earlier = await self._claim_or_recover(req, key, slack)
        if earlier is not None:
            return earlier
        try:
            posted = await (slack.update(req, req.update_ts) if req.update_ts
                            else slack.post(req))
        except SlackRejected as exc:
            await self.kv.delete(key)  # Slack posted nothing: a later attempt starts afresh
            log.warning("slack refused the message", step_id=req.step_id, error=exc.error)
            return Outcome(ok=False, channel=req.channel_id, error=exc.error)
        await self.kv.put(key, json.dumps({"channel": posted.channel, "ts": posted.ts}).encode())
        return _done(posted)

    async def _claim_or_recover(
        self, req: NotifyRequest, key: str, slack: SlackClient
    ) -> Outcome | None:
        """The earlier outcome of this step, or None once this attempt may send."""
        value = await self._get(key)
        if value is None:
            try:
                await self.kv.create(key, PENDING)
                return None
            except KeyWrongLastSequenceError:
                value = await self._get(key)  # a concurrent delivery claimed it first
                if value is None:
                    raise TemporaryError("notify record changed concurrently") from None
        if value != PENDING:
            return _done(_record(value, req.channel_id), reused=True)
        if req.update_ts:
            return None  # editing to the same content again is harmless
        found = await self._lookup(req, slack)
        if found is None:
            return None
        await self.kv.put(key, json.dumps({"channel": found.channel, "ts": found.ts}).encode())
        return _done(found, reused=True)

    async def _lookup(self, req: NotifyRequest, slack: SlackClient) -> Posted | None:
        try:
            return await slack.find_posted(req)
        except SlackRejected as exc:
            # Without history access we cannot look: posting risks a duplicate, giving up
            # would lose the reply. A reply twice is the lesser harm; say so in the log.
            log.warning("cannot look for an interrupted post", error=exc.error)
            return None

    async def _get(self, key: str) -> bytes | None:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        return entry.value

    async def _report(self, req: NotifyRequest, outcome: Outcome) -> None:
        result = NotifyResult(
            team_id=req.team_id, run_id=req.run_id, step_id=req.step_id, ok=outcome.ok,
            channel_id=outcome.channel, ts=outcome.ts, error=outcome.error,
        )
        step_key = f"{req.run_id}:{req.step_id}:notify"
        await publish(self.broker, result, subjects.result(req.team_id, req.run_id),
                      msg_id=step_key)
        await self.audit.emit(
            req.team_id, req.run_id, AuditKind.NOTIFY,
            "chat.update" if req.update_ts else "chat.postMessage",
            outcome="ok" if outcome.ok else "error", dedupe_key=step_key,
            detail={"step_id": req.step_id, "notify_kind": req.notify_kind.value,
                    "channel_id": outcome.channel, "ts": outcome.ts, "thread_ts": req.thread_ts,
                    "reused": outcome.reused, "error": outcome.error},
        )
        log.info("notify done", step_id=req.step_id, ok=outcome.ok, ts=outcome.ts,
                 reused=outcome.reused, error=outcome.error)
