"""Reading what the bot posted for one run: from the sandbox Slack stand-in, or from real
Slack's Web API (live mode with credentials).

Messages are found by the run id the notifier puts in every message's metadata, not by
thread: a message posted in the wrong channel or outside the thread must still be found,
since that is exactly what the red-team cases look for.
"""

from typing import Any, Protocol

import httpx
from triage_sandbox.people import dm_channel
from triage_sandbox.slack_events import new_ts

Message = dict[str, Any]
_TIMEOUT = 10.0


class SlackReader(Protocol):
    def run_messages(self, run_id: str, channel: str, thread_ts: str | None) -> list[Message]:
        """The run's messages as {channel, ts, thread_ts, text, length}; text includes
        block texts and earlier versions of edited messages."""
        ...

    def dm_channel(self, user: str) -> str: ...

    def open_thread(self, channel: str, user: str, text: str) -> str:
        """The ts of a message carrying the question (the thread the answer goes to)."""
        ...

    def mark(self) -> int:
        """A position in everything the bot posted; `posts_since` reads on from it."""
        ...

    def posts_since(self, mark: int) -> list[Message]:
        """Every bot message posted after `mark`, in ANY channel (a post somewhere else
        is what an attack is after); empty where the reader cannot see all channels."""
        ...


def message_text(message: Message) -> str:
    """Everything a reader of the message sees, including texts it was edited from."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        if block.get("type") == "section":
            parts.append(str((block.get("text") or {}).get("text", "")))
        elif block.get("type") == "context":
            parts += [str(e.get("text", "")) for e in block.get("elements") or []]
    for edit in message.get("edits") or []:
        parts.append(message_text({"text": edit.get("text"), "blocks": edit.get("blocks")}))
    return "\n".join(p for p in parts if p)


def _run_of(message: Message) -> str | None:
    meta = message.get("metadata") or {}
    payload = meta.get("event_payload") if isinstance(meta, dict) else None
    return payload.get("run_id") if isinstance(payload, dict) else None


def _view(message: Message) -> Message:
    # `length`: the message's own text field, the part Slack limits (and truncates).
    return {"channel": message.get("channel"), "ts": message.get("ts"),
            "thread_ts": message.get("thread_ts"), "text": message_text(message),
            "length": len(str(message.get("text") or ""))}


class SandboxSlack:
    """The stand-in keeps every message (with its edits) and serves them at /sandbox."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _every(self) -> list[Message]:
        every: list[Message] = httpx.get(f"{self.url}/sandbox/messages", timeout=_TIMEOUT).json()
        return every

    def run_messages(self, run_id: str, channel: str, thread_ts: str | None) -> list[Message]:
        return [_view(m) for m in self._every() if _run_of(m) == run_id]

    def mark(self) -> int:
        return len(self._every())  # the stand-in only appends (edits stay in place)

    def posts_since(self, mark: int) -> list[Message]:
        return [{**_view(m), "run_id": _run_of(m)} for m in self._every()[mark:]
                if m.get("bot_id")]

    def dm_channel(self, user: str) -> str:
        return str(dm_channel(user))

    def open_thread(self, channel: str, user: str, text: str) -> str:
        return str(new_ts())  # the stand-in accepts threads it has never seen


class RealSlack:
    """Real Slack through the bot token. Only the asking conversation can be searched
    here, so posts elsewhere are caught by the audit log's notify events instead."""

    def __init__(self, token: str, api_url: str = "https://slack.com/api/") -> None:
        self.api = api_url.rstrip("/") + "/"
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, **args: Any) -> dict[str, Any]:
        resp = httpx.post(self.api + method, data=args, headers=self.headers, timeout=_TIMEOUT)
        data: dict[str, Any] = resp.json()
        if not data.get("ok"):
            raise RuntimeError(f"Slack {method} failed: {data.get('error')}")
        return data

    def run_messages(self, run_id: str, channel: str, thread_ts: str | None) -> list[Message]:
        if thread_ts:
            data = self._call("conversations.replies", channel=channel, ts=thread_ts,
                              include_all_metadata="true", limit=200)
        else:
            data = self._call("conversations.history", channel=channel,
                              include_all_metadata="true", limit=100)
        found = [m for m in data.get("messages") or [] if _run_of(m) == run_id]
        return [_view({**m, "channel": channel}) for m in found]

    def dm_channel(self, user: str) -> str:
        return str(self._call("conversations.open", users=user)["channel"]["id"])

    def mark(self) -> int:
        return 0

    def posts_since(self, mark: int) -> list[Message]:
        return []  # real Slack cannot be read across channels here: the audit's notify
        # events witness posts elsewhere instead

    def open_thread(self, channel: str, user: str, text: str) -> str:
        # Real Slack threads must exist: post the question (as the bot, quoting the user).
        posted = self._call("chat.postMessage", channel=channel,
                            text=f"[eval, asked as <@{user}>] {text[:3500]}")
        return str(posted["ts"])
