"""Posting the agent's messages to Slack exactly once per run step.

A crash between "Slack posted" and "we recorded it" must not post twice on redelivery, so
each step is claimed in the idempotency bucket first (`pending`, with the time), and the
message carries the run and step in its metadata. A redelivery that finds a `pending`
claim younger than `claim_stale_s` is put back with a delay: the first attempt may still
be waiting for Slack (JetStream redelivers after its 1 s BackOff, maybe to another
replica), and a message not posted yet cannot be found in the thread. An older claim
belonged to a notifier that died: the thread is searched for the message, and only if it
is not there is the claim taken over (compare-and-set, one winner) and the message posted.
The result always goes back to the run, also when Slack refused (the orchestrator must
learn that its reply did not arrive).
"""

import json
import re
import time
from dataclasses import dataclass

import structlog
from faststream.nats import NatsBroker
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream, publish
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.ids import stable_id
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind, NotifyKind, NotifyRequest, NotifyResult
from triage_contracts.streams import Buckets

from . import placeholder, streaming
from .clients.slack import NOT_A_MEMBER, Posted, SlackClient, SlackRejected, answer_command
from .pacing import ChannelPacer
from .team_slack import NOT_CONFIGURED, NoSlackFor, TeamSlack

log = get_logger("triage.ingress.notifier")
LEGACY_PENDING = b"pending"
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


def _claim(at: float | None = None) -> bytes:
    claimed_at = time.time() if at is None else at
    return json.dumps({"state": "pending", "claimed_at": claimed_at}).encode()


def _claimed_at(value: bytes) -> float | None:
    """When a pending claim was made (0 for the bare `pending` of an older notifier, which
    carries no time); None for a finished record."""
    if value == LEGACY_PENDING:
        return 0.0
    if not value.startswith(b"{"):
        return None
    record = json.loads(value)
    return float(record["claimed_at"]) if record.get("state") == "pending" else None


def _done(posted: Posted, reused: bool = False) -> Outcome:
    # ts "" is an answer through a response_url: Slack gives no ts for those.
    return Outcome(ok=True, channel=posted.channel, ts=posted.ts or None, reused=reused)


def _method(req: NotifyRequest) -> str:
    if req.file is not None:
        return "files.upload"
    return "chat.update" if req.update_ts else "chat.postMessage"


class Notifier:
    def __init__(self, broker: NatsBroker, teams: TeamSlack, audit: AuditEmitter,
                 claim_stale_s: float = 120.0,
                 response_url_prefix: str = "https://hooks.slack.com/",
                 pacer: ChannelPacer | None = None):
        self.broker = broker
        self.pacer = pacer or ChannelPacer(rate=1.0, burst=2)
        self.response_url_prefix = response_url_prefix
        self.teams = teams
        self.audit = audit
        # A pending claim older than this belongs to a notifier that died, not a slow one.
        self.claim_stale_s = claim_stale_s
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
            if req.notify_kind is NotifyKind.STATUS:
                await self._show_status(req)
                return
            try:
                slack = await self.teams.for_team(req.team_id, req.enterprise_id)
            except NoSlackFor as exc:
                outcome = Outcome(ok=False, channel=req.channel_id, error=exc.error)
            else:
                outcome = await self._deliver(req, slack)
            await self._report(req, outcome)

    async def _show_status(self, req: NotifyRequest) -> None:
        """Best effort, and never a result: the run does not wait for a status. Where
        Slack refuses the assistant status (not an assistant thread, an old workspace),
        the run's placeholder message shows it instead (placeholder.py)."""
        try:
            slack = await self.teams.for_team(req.team_id, req.enterprise_id)
            try:
                await slack.set_status(req)
            except SlackRejected:  # no assistant status here: a placeholder message instead
                await placeholder.show(slack, self.kv, req, self.pacer)
        except (SlackRejected, NoSlackFor) as exc:
            log.debug("status not shown", error=getattr(exc, "error", str(exc)))
        except TemporaryError as exc:  # not worth a redelivery: the next turn says more
            log.debug("status not shown now", reason=str(exc))

    async def _deliver(self, req: NotifyRequest, slack: SlackClient) -> Outcome:
        key = record_key(req)
        claimed = await self._claim_or_recover(req, key, slack)
        if isinstance(claimed, Outcome):
            return claimed
        try:
            if not req.update_ts:  # Slack's per-channel limit is on new messages
                await self.pacer.wait(req.channel_id)
            posted = await self._send(req, slack, key, claimed)
        except SlackRejected as exc:
            if exc.error in NOT_A_MEMBER and self._answerable(req):
                answered = await self._answer_command(req, key, claimed, exc.error)
                if isinstance(answered, Outcome):
                    return answered
                posted = answered
            else:
                await self.kv.delete(key)  # Slack posted nothing: a later try starts afresh
                log.warning("slack refused the message", step_id=req.step_id, error=exc.error)
                return Outcome(ok=False, channel=req.channel_id, error=exc.error)
        except Exception:
            await self._release(key, claimed)
            raise
        await self.kv.put(key, json.dumps({"channel": posted.channel, "ts": posted.ts}).encode())
        return _done(posted)

    async def _send(self, req: NotifyRequest, slack: SlackClient, key: str,
                    claimed: int) -> Posted:
        if req.file is not None:
            return await slack.upload(req)
        if req.update_ts:
            return await slack.update(req, req.update_ts)
        return await self._post(req, slack, key, claimed)

    async def _post(self, req: NotifyRequest, slack: SlackClient, key: str,
                    claimed: int) -> Posted:
        replaced = await placeholder.take(self.kv, req)
        if replaced is not None:  # the run's progress message becomes its first message
            return await slack.update(req, replaced.ts)
        if streaming.streamable(req):  # an assistant thread: the answer grows in place
            return await streaming.post_streamed(slack, self.kv, key, claimed, req)
        return await slack.post(req)

    def _answerable(self, req: NotifyRequest) -> bool:
        """Only a new message of a slash command, and only to Slack's own response_url host
        (the URL came in a signed request; the prefix keeps answers from going elsewhere)."""
        url = req.response_url
        return (url is not None and req.update_ts is None and req.file is None
                and url.startswith(self.response_url_prefix))

    async def _answer_command(self, req: NotifyRequest, key: str, claimed: int,
                              error: str) -> Posted | Outcome:
        assert req.response_url is not None
        try:
            await answer_command(req.response_url, req)
        except SlackRejected as exc:
            await self.kv.delete(key)
            log.warning("slack refused the message and its response_url", step_id=req.step_id,
                        error=error, response_url_error=exc.error)
            return Outcome(ok=False, channel=req.channel_id,
                           error=f"{error}; the command's response_url refused it too "
                                 f"({exc.error})")
        except Exception:
            await self._release(key, claimed)
            raise
        log.info("answered through the command's response_url", step_id=req.step_id,
                 because=error)
        return Posted(channel=req.channel_id, ts="")

    async def _claim_or_recover(
        self, req: NotifyRequest, key: str, slack: SlackClient
    ) -> Outcome | int:
        """The earlier outcome of this step, or (once this attempt may send) the revision
        of its claim."""
        entry = await self._entry(key)
        if entry is None:
            try:
                return await self.kv.create(key, _claim())
            except KeyWrongLastSequenceError:
                entry = await self._entry(key)  # a concurrent delivery claimed it first
                if entry is None:
                    raise TemporaryError("notify record changed concurrently") from None
        value = entry.value or b""
        claimed_at = _claimed_at(value)
        if claimed_at is None:
            return _done(_record(value, req.channel_id), reused=True)
        self._wait_for_live_claim(key, claimed_at)
        # Editing to the same content again is harmless: only a new post is looked for.
        found = None if req.update_ts else await self._lookup(req, slack, value)
        if found is not None:
            await self.kv.put(key, json.dumps({"channel": found.channel,
                                               "ts": found.ts}).encode())
            return _done(found, reused=True)
        try:  # compare-and-set: of two deliveries taking over, one posts
            return await self.kv.update(key, _claim(), last=entry.revision)
        except KeyWrongLastSequenceError as exc:
            raise TemporaryError(f"{key} was taken over elsewhere", ErrorCode.CONFLICT) from exc

    async def _release(self, key: str, revision: int) -> None:
        """This attempt failed (Slack may or may not have posted): leave the claim pending
        but no longer live, so the redelivery looks for the message at once."""
        try:
            await self.kv.update(key, _claim(at=0.0), last=revision)
        except KeyWrongLastSequenceError:
            pass  # another delivery has taken the claim over already

    def _wait_for_live_claim(self, key: str, claimed_at: float) -> None:
        """A young claim may be an attempt still waiting for Slack: come back later."""
        age = time.time() - claimed_at
        if age < self.claim_stale_s:
            raise TemporaryError(f"{key} is being posted elsewhere", ErrorCode.CONFLICT,
                                 delay=self.claim_stale_s - age)

    async def _lookup(self, req: NotifyRequest, slack: SlackClient,
                      claim: bytes) -> Posted | None:
        stream = streaming.started(claim)
        try:
            if stream is not None:  # an interrupted stream: complete that message
                return await streaming.finish(slack, req, stream)
            return await slack.find_posted(req)
        except SlackRejected as exc:
            # Without history access we cannot look: posting risks a duplicate, giving up
            # would lose the reply. A reply twice is the lesser harm; say so in the log.
            log.warning("cannot look for an interrupted post", error=exc.error)
            return None

    async def _entry(self, key: str) -> KeyValue.Entry | None:
        try:
            return await self.kv.get(key)
        except KeyNotFoundError:
            return None

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
            _method(req),
            outcome="ok" if outcome.ok else "error", dedupe_key=step_key,
            detail={"step_id": req.step_id, "notify_kind": req.notify_kind.value,
                    "channel_id": outcome.channel, "ts": outcome.ts, "thread_ts": req.thread_ts,
                    "reused": outcome.reused, "error": outcome.error},
        )
        log.info("notify done", step_id=req.step_id, ok=outcome.ok, ts=outcome.ts,
                 reused=outcome.reused, error=outcome.error)
