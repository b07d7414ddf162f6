"""The in-memory state of the sandbox Slack workspace: messages, Web API call log, pending
faults, open modals, interaction triggers and response_urls, and the live subscribers (the
channel page) that hear about every change. The Web API (`slack_api.py`) and the channel
page (`channel/`) both work on this one object."""

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

JsonDict = dict[str, Any]
BOT_ID = "BSANDBOX"
TRIGGER_TTL_S = 3.0  # Slack's trigger ids are good for 3 seconds and one use
RESPONSE_USES = 5  # ... and a response_url for 5 answers (within 30 minutes)


class FaultSpec(BaseModel):
    method: str
    # None: no error, the call is only late (see delay_s) and then done as usual.
    error: str | None = "ratelimited"
    times: int = Field(1, ge=1)
    # None: 429 for `ratelimited`, 200 (Slack's way of failing) for everything else.
    status: int | None = None
    # Seconds the answer takes (a slow Slack), before the error or the call's own answer.
    delay_s: float = Field(0.0, ge=0.0, le=60.0)


@dataclass
class SandboxSlack:
    bot_token: str
    bot_user_id: str
    team_id: str
    messages: list[JsonDict] = field(default_factory=list)
    calls: list[JsonDict] = field(default_factory=list)
    faults: list[FaultSpec] = field(default_factory=list)
    views: dict[str, JsonDict] = field(default_factory=dict)  # open modals by view id
    triggers: dict[str, JsonDict] = field(default_factory=dict)
    response_slots: dict[str, JsonDict] = field(default_factory=dict)
    responses: list[JsonDict] = field(default_factory=list)  # every POST to a response_url
    # Bot tokens issued by the OAuth install (`slack_oauth.py`): token -> its team and bot.
    installed: dict[str, JsonDict] = field(default_factory=dict)
    # Token rotation (off unless set): installed bot tokens then expire after this many
    # seconds and come with a one-use refresh token (`oauth.v2.access`, grant_type
    # refresh_token); an expired token is refused with `token_expired`.
    token_lifetime_s: int | None = None
    expires: dict[str, float] = field(default_factory=dict)  # token -> when it expires
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh -> its access token
    # Slack's per-channel posting limit (off unless set): chat.postMessage beyond `post_rate`
    # messages per second per channel, after a burst of `post_burst`, answers 429.
    post_rate: float | None = None
    post_burst: int = 3
    _post_buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Assistant statuses ("Reading CI runs…") by (channel, thread_ts); Slack clears one when
    # the app posts in that thread.
    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    # Assistant threads' suggested prompts and titles by (channel, thread_ts).
    assistant_threads: dict[tuple[str, str], JsonDict] = field(default_factory=dict)
    # Conversations the bot is not a member of (a private channel nobody invited it to):
    # chat.postMessage there fails with not_in_channel, as in Slack.
    not_joined: set[str] = field(default_factory=lambda: {"C_PRIVATE"})
    # Public channels the bot is not in: Slack lets a token with `chat:write.public` post
    # there (nothing else), and answers not_in_channel to one without.
    open_not_joined: set[str] = field(default_factory=lambda: {"C_OPEN"})
    # The scopes of the configured bot token (installed tokens carry their grant's).
    bot_scopes: set[str] = field(default_factory=lambda: {
        "app_mentions:read", "chat:write", "commands", "im:history", "channels:history",
        "assistant:write", "files:write"})
    # Files of the external upload flow (`slack_files.py`) by id, and the address the Web
    # API was last called at (upload URLs point there, as Slack's point to files.slack.com).
    files: dict[str, JsonDict] = field(default_factory=dict)
    base_url: str = "http://127.0.0.1/"
    _subscribers: list[asyncio.Queue[JsonDict]] = field(default_factory=list)
    _last_us: int = 0

    def subscribe(self) -> asyncio.Queue[JsonDict]:
        """A queue receiving `{"type": "message"|"message_changed", "message": {...}}`
        (and `view_opened` / `view_closed` / `message_deleted` for the channel page)."""
        queue: asyncio.Queue[JsonDict] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JsonDict]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def notify(self, event: JsonDict) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)

    def next_ts(self) -> str:
        # Slack ts are "seconds.micros" strings, unique and increasing within a channel.
        self._last_us = max(int(time.time() * 1_000_000), self._last_us + 100)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def take_fault(self, method: str) -> FaultSpec | None:
        for fault in self.faults:
            if fault.method == method:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def install(self, token: str, team_id: str, bot_user_id: str, scopes: str = "") -> None:
        self.installed[token] = {"team_id": team_id, "bot_user_id": bot_user_id,
                                 "scopes": sorted(s for s in scopes.split(",") if s)}

    def scopes_of(self, token: str) -> set[str]:
        found = self.installed.get(token)
        return set(found["scopes"]) if found else set(self.bot_scopes)

    def may_post(self, token: str, channel: str) -> bool:
        """chat.postMessage into a public channel the bot is not in needs chat:write.public."""
        return channel not in self.open_not_joined or "chat:write.public" in self.scopes_of(token)

    def over_post_limit(self, channel: str) -> bool:
        """Take one post from the channel's bucket; True when it is empty (a 429)."""
        if self.post_rate is None:
            return False
        now = time.monotonic()
        tokens, at = self._post_buckets.get(channel, (float(self.post_burst), now))
        tokens = min(float(self.post_burst), tokens + (now - at) * self.post_rate)
        if tokens < 1.0:
            self._post_buckets[channel] = (tokens, now)
            return True
        self._post_buckets[channel] = (tokens - 1.0, now)
        return False

    def expired(self, token: str) -> bool:
        return token in self.expires and time.time() >= self.expires[token]

    def team_of(self, token: str) -> str | None:
        """The team a bot token belongs to; None for a token this workspace never issued."""
        if secrets.compare_digest(token.encode(), self.bot_token.encode()):
            return self.team_id
        found = self.installed.get(token)
        return str(found["team_id"]) if found else None

    def find(self, channel: str, ts: str) -> JsonDict | None:
        return next((m for m in self.messages if m["channel"] == channel and m["ts"] == ts), None)

    def add(self, message: JsonDict) -> JsonDict:
        self.messages.append(message)
        self.notify({"type": "message", "message": dict(message)})
        return message

    def changed(self, message: JsonDict) -> None:
        self.notify({"type": "message_changed", "message": dict(message)})

    def remove(self, message: JsonDict) -> None:
        self.messages.remove(message)
        self.notify({"type": "message_deleted", "message": dict(message)})

    # -- interactivity: triggers (for views.open) and response_urls ------------------------

    def new_trigger(self, user_id: str) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = {"user": user_id, "at": time.monotonic(), "used": False}
        return trigger_id

    def use_trigger(self, trigger_id: str) -> tuple[str | None, str | None]:
        """(user, None) for a fresh trigger, else (None, Slack's error code)."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            return None, "invalid_trigger_id"
        if trigger["used"]:
            return None, "exchanged_trigger_id"
        if time.monotonic() - trigger["at"] > TRIGGER_TTL_S:
            return None, "expired_trigger_id"
        trigger["used"] = True
        return str(trigger["user"]), None

    def open_response_slot(self, user_id: str, channel: str, message_ts: str,
                           thread_ts: str | None) -> str:
        """A response_url id bound to one click: answers land in that message's thread."""
        slot_id = secrets.token_urlsafe(12)
        self.response_slots[slot_id] = {"user": user_id, "channel": channel,
                                        "message_ts": message_ts, "thread_ts": thread_ts,
                                        "uses": 0}
        return slot_id


def json_field(value: Any) -> Any:
    """Form-encoded calls carry blocks/metadata/views as JSON strings; JSON calls as objects."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def public(message: JsonDict, with_metadata: bool = True) -> JsonDict:
    """A message as the Web API returns it (without the sandbox's bookkeeping)."""
    hidden = {"channel", "edits", "ephemeral_to", "streaming", "streamed"}
    hidden |= set() if with_metadata else {"metadata"}
    return {k: v for k, v in message.items() if k not in hidden and v is not None}


def error(code: str) -> JsonDict:
    return {"ok": False, "error": code}
