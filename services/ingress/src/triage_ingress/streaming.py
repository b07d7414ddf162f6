"""The answer streamed into an assistant thread (a DM with the app): Slack shows the text
growing (`chat.startStream`, `chat.appendStream`) and then finishes the message with the
closing blocks (feedback buttons, context line) and the run step's metadata
(`chat.stopStream`), as Slack's AI-app template does.

Exactly once, together with the notifier's claim (notifier.py): the stream is started
empty, and its ts is written into the still-pending claim before any text is sent. A
redelivery after a crash finds that ts (`started`) and completes the same message
(`finish`: stop it if it still streams, then `chat.update` with the whole answer) instead
of posting a second one. What is left is a crash between Slack's answer to startStream and
that write: an empty message may stay behind, never a second answer.

Streaming is presentation: where Slack refuses it (not a DM, a workspace without the
methods), the answer is posted as before; a stream Slack stops accepting midway (it
expired) is completed with `chat.update`.

The answer arrives as Slack mrkdwn (escaped, for a post); a stream takes markdown, so links,
bold and strike-through are rewritten (`markdown`). The escaped `&lt; &gt; &amp;` stay
entities, shown as the characters: no mention or link can come from untrusted text.
"""

import json
import re
import time

from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.messages import NotifyKind, NotifyRequest

from .clients.slack import Posted, SlackClient, SlackRejected

log = get_logger("triage.ingress.streaming")
PIECE = 400  # characters per chat.appendStream: small enough to be seen growing
DM_PREFIX = "D"  # Slack's ids of direct conversations (the app's assistant threads)
_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")


def streamable(req: NotifyRequest) -> bool:
    """A new answer in a thread of a DM with the app; approval prompts are not streamed
    (their buttons must come with their text), edits are edits."""
    return (req.notify_kind is NotifyKind.REPLY and req.update_ts is None
            and bool(req.thread_ts) and req.channel_id.startswith(DM_PREFIX))


def pieces(text: str, size: int = PIECE) -> list[str]:
    """`text` cut into pieces of about `size`, at a space where there is one near the cut
    (so words do not break while the message grows); joined they are `text` again."""
    out: list[str] = []
    while len(text) > size:
        cut = text.rfind(" ", size // 2, size) + 1 or size
        out.append(text[:cut])
        text = text[cut:]
    return [*out, text] if text else out


def markdown(mrkdwn: str) -> str:
    """Slack mrkdwn as the markdown a stream takes: `<url|label>` links become
    `[label](url)` (brackets in the label and parentheses in the URL encoded so neither can
    end the link early), `*bold*` becomes `**bold**`, `~strike~` becomes `~~strike~~`."""
    # Brackets outside the bot's own links are encoded first: `[label](url)` written by the
    # model or found in GitHub text would otherwise become a masked link in markdown.
    parts, at = [], 0
    for m in _LINK.finditer(mrkdwn):
        parts += [_label(mrkdwn[at:m.start()]), f"[{_label(m[2])}]({_target(m[1])})"]
        at = m.end()
    text = "".join([*parts, _label(mrkdwn[at:])])
    text = _BOLD.sub(lambda m: f"**{m[1]}**", text)
    return _STRIKE.sub(lambda m: f"~~{m[1]}~~", text)


def _label(text: str) -> str:
    return text.replace("[", "&#91;").replace("]", "&#93;")


def _target(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29")


def closing_blocks(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    """What goes below the streamed text: everything but the sections, which repeat the
    text just streamed."""
    return [block for block in blocks if block.get("type") != "section"]


def started(value: bytes) -> Posted | None:
    """The stream an earlier, interrupted attempt started, from its pending claim."""
    if not value.startswith(b"{"):
        return None
    stream = json.loads(value).get("stream")
    return Posted(channel=str(stream["channel"]), ts=str(stream["ts"])) if stream else None


def _claim(stream: Posted, at: float | None = None) -> bytes:
    return json.dumps({"state": "pending", "claimed_at": time.time() if at is None else at,
                       "stream": {"channel": stream.channel, "ts": stream.ts}}).encode()


async def post_streamed(slack: SlackClient, kv: KeyValue, key: str, revision: int,
                        req: NotifyRequest) -> Posted:
    """Stream `req` as the answer, or post it when Slack will not stream here."""
    try:
        stream = await slack.start_stream(req)
    except SlackRejected as exc:
        log.info("streaming refused, posting instead", error=exc.error)
        return await slack.post(req)
    try:
        revision = await kv.update(key, _claim(stream), last=revision)
    except KeyWrongLastSequenceError as exc:
        raise TemporaryError(f"{key} was taken over while streaming", ErrorCode.CONFLICT) from exc
    try:
        return await _fill(slack, req, stream)
    except Exception:
        await _release(kv, key, revision, stream)
        raise


async def _fill(slack: SlackClient, req: NotifyRequest, stream: Posted) -> Posted:
    try:
        for piece in pieces(markdown(req.text)):
            await slack.append_stream(stream, piece)
        await slack.stop_stream(req, stream, closing_blocks(req.blocks))
    except SlackRejected as exc:
        log.warning("stream refused midway, completing it by an edit", error=exc.error)
        return await finish(slack, req, stream)
    return stream


async def finish(slack: SlackClient, req: NotifyRequest, stream: Posted) -> Posted:
    """Complete a stream an attempt left unfinished: the whole answer, by an edit."""
    try:
        await slack.stop_stream(req, stream)
    except SlackRejected as exc:  # already stopped (or expired): the edit still applies
        log.debug("stream already stopped", error=exc.error)
    return await slack.update(req, stream.ts)


async def _release(kv: KeyValue, key: str, revision: int, stream: Posted) -> None:
    """This attempt failed midway: leave the claim pending, no longer live, and with the
    stream's ts, so the redelivery completes that message at once."""
    try:
        await kv.update(key, _claim(stream, at=0.0), last=revision)
    except KeyWrongLastSequenceError:
        pass  # another delivery has taken the claim over already
