"""Progress where Slack refuses the assistant status (a channel thread in a workspace that
does not allow `assistant.threads.setStatus` there): one placeholder message per run,
"Looking into it… Reading CI runs…", edited in place at each status, and then replaced by
the run's first message (the answer, or an approval prompt) through `chat.update`.

Replaced rather than followed, as Slack's AI samples did before streaming ("Thinking…",
then the answer edited in): the thread keeps one message per answer and no stale
progress line stays behind.

Exactly once, in the idempotency bucket (`notify.<team>.<run>.placeholder`): the first
status claims the key (compare-and-set, one winner) before posting, so a concurrent or
redelivered status never posts a second placeholder; the first message to take it
records its step (`used_by`), so a redelivery of that step edits the same message again
(an edit is repeatable) and any later message is posted as usual. Statuses after that
change nothing, and a status edit under way marks the record (`editing_at`) so that the
answer waits for it: progress never lands over the answer. A claim whose post failed is
given back, and one left by a notifier that died is taken over after `CLAIM_S`, so that a
later status of the run still shows the placeholder.
"""

import json
import time
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.messages import NotifyRequest

from .clients.slack import Posted, SlackClient, posted_nothing
from .pacing import ChannelPacer
from .queued import STEP as QUEUED_STEP

log = get_logger("triage.ingress.placeholder")
LOOKING = "Looking into it…"
EDIT_S = 15.0  # a status edit marked longer ago than this died with its notifier
# A claim without a post older than this died with its notifier: the pacing wait (at most
# 10 s) and three tries of a Slack call (10 s each by default) are well inside it.
CLAIM_S = 60.0


def key(req: NotifyRequest) -> str:
    return f"notify.{req.team_id}.{req.run_id}.placeholder"


def progress(req: NotifyRequest) -> NotifyRequest:
    """The placeholder's text for a status (statuses are the orchestrator's own words; the
    edge's "Queued behind N questions" is not looking into anything yet)."""
    text = req.text if req.step_id == QUEUED_STEP else f"{LOOKING} {req.text}"
    return req.model_copy(update={"text": f"_{text}_", "blocks": []})


async def _read(kv: KeyValue, name: str) -> tuple[dict[str, Any], int] | None:
    """The record (without a finished or abandoned edit mark) and its revision."""
    try:
        entry = await kv.get(name)
    except KeyNotFoundError:
        return None
    return json.loads(entry.value or b"{}"), entry.revision or 0


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


def _editing(record: dict[str, Any]) -> bool:
    return time.time() - float(record.get("editing_at") or 0.0) < EDIT_S


def _base(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "editing_at"}


async def show(slack: SlackClient, kv: KeyValue, req: NotifyRequest,
               pacer: ChannelPacer | None = None) -> None:
    """Post the run's placeholder, or edit it to this status (best effort, like a status).
    A new placeholder is a new message: it takes its turn in the channel's pacing."""
    found = await _read(kv, key(req))
    if found is None or _abandoned(found[0]):
        await _post(slack, kv, req, pacer, None if found is None else found[1])
        return
    record, revision = found
    if not record.get("ts") or record.get("used_by") or _editing(record):
        return  # not posted yet, answered already, or another status is editing it
    base = _base(record)
    try:  # marked first: the answer waits for this edit rather than race it
        revision = await kv.update(key(req), _dump({**base, "editing_at": time.time()}),
                                   last=revision)
    except KeyWrongLastSequenceError:
        return  # the answer took it, or another status is editing: this one is stale
    try:
        await slack.update(progress(req), str(record["ts"]))
    finally:
        await kv.update(key(req), _dump(base), last=revision)


def _abandoned(record: dict[str, Any]) -> bool:
    """A claim whose post never came: its notifier died between claiming and recording."""
    return not record.get("ts") and time.time() - float(record.get("claimed_at") or 0.0) > CLAIM_S


async def _post(slack: SlackClient, kv: KeyValue, req: NotifyRequest,
                pacer: ChannelPacer | None, last: int | None) -> None:
    """Claim the placeholder (compare-and-set, one winner), post it, record it. A post
    Slack refused (its limit still answering 429 after the retries) gives the claim back,
    so that the run's next status posts it instead of none ever showing; after a timeout
    the claim stays (the post may have landed) until it is abandoned."""
    claim = _dump({"claimed_at": time.time()})
    try:
        revision = await (kv.create(key(req), claim) if last is None
                          else kv.update(key(req), claim, last=last))
    except KeyWrongLastSequenceError:
        return  # another status is posting it: this one is already out of date
    try:
        if pacer is not None:
            await pacer.wait(req.channel_id)
        posted = await slack.post(progress(req))
    except Exception as exc:
        if posted_nothing(exc):
            await _give_back(kv, req, revision)
        raise
    await kv.update(key(req), _dump({"channel": posted.channel, "ts": posted.ts}),
                    last=revision)


async def _give_back(kv: KeyValue, req: NotifyRequest, revision: int) -> None:
    try:
        await kv.delete(key(req), last=revision)
    except Exception as exc:  # noqa: BLE001 - the claim then ages out (CLAIM_S)
        log.debug("placeholder claim kept", reason=str(exc))


async def take(kv: KeyValue, req: NotifyRequest) -> Posted | None:
    """The placeholder `req` replaces: unused yet, or already taken by this same step."""
    found = await _read(kv, key(req))
    if found is None or not found[0].get("ts"):
        return None
    record, revision = found
    if record.get("used_by") not in (None, req.step_id):
        return None
    if record.get("used_by") is None:
        if _editing(record):
            raise TemporaryError(f"{key(req)} is being edited", ErrorCode.CONFLICT, delay=1.0)
        try:
            await kv.update(key(req), _dump({**_base(record), "used_by": req.step_id}),
                            last=revision)
        except KeyWrongLastSequenceError:
            return await take(kv, req)  # a status is marking it: look again
    return Posted(channel=str(record["channel"]), ts=str(record["ts"]))
