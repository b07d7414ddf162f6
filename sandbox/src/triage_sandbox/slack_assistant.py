"""The stand-in's Agents & AI Apps methods: an assistant thread's suggested prompts and
title (`assistant.threads.*`), and a message streamed into a thread (`chat.startStream`,
`chat.appendStream`, `chat.stopStream`), with Slack's argument shapes and refusals.

Slack streams into DMs with the app (the assistant thread); elsewhere it wants the person
the stream is for (`recipient_user_id` and `recipient_team_id`) and refuses without them,
so a notifier that streams into a channel without them must fall back to a plain post.
A stopped stream is an ordinary message again: appending to it is refused.
"""

from typing import Any

from .slack_limits import block_problems
from .slack_workspace import BOT_ID, JsonDict, SandboxSlack, error, json_field, public

MARKDOWN_LIMIT = 12_000  # per call, Slack's limit on markdown_text
PROMPT_LIMIT = 4  # Slack shows at most four suggested prompts


def set_suggested_prompts(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, prompts = str(args.get("channel_id") or ""), json_field(args.get("prompts"))
    if not channel or not _valid_prompts(prompts):
        return error("invalid_arguments")
    thread = str(args.get("thread_ts") or "")
    ws.assistant_threads.setdefault((channel, thread), {})["prompts"] = prompts
    ws.notify({"type": "suggested_prompts", "channel": channel, "thread_ts": thread,
               "title": str(args.get("title") or ""), "prompts": prompts})
    return {"ok": True}


def _valid_prompts(prompts: Any) -> bool:
    return (isinstance(prompts, list) and 0 < len(prompts) <= PROMPT_LIMIT
            and all(isinstance(p, dict) and p.get("title") and p.get("message")
                    for p in prompts))


def set_title(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, thread = str(args.get("channel_id") or ""), str(args.get("thread_ts") or "")
    title = str(args.get("title") or "")
    if not channel or not thread or not title:
        return error("invalid_arguments")
    if channel in ws.not_joined:
        return error("not_in_channel")
    ws.assistant_threads.setdefault((channel, thread), {})["title"] = title
    ws.notify({"type": "title", "channel": channel, "thread_ts": thread, "title": title})
    return {"ok": True}


def _streamed_text(args: JsonDict) -> str | None:
    """The text of `markdown_text` and of the `markdown_text` chunks (None: bad chunks)."""
    text = str(args.get("markdown_text") or "")
    chunks = json_field(args.get("chunks"))
    if chunks is None:
        return text
    if not isinstance(chunks, list):
        return None
    for chunk in chunks:
        if not isinstance(chunk, dict) or chunk.get("type") != "markdown_text":
            return None  # task and plan chunks are not played by the stand-in
        text += str(chunk.get("text") or "")
    return text


def _too_long_or_bad(text: str | None) -> JsonDict | None:
    if text is None:
        return error("invalid_chunks")
    return error("msg_too_long") if len(text) > MARKDOWN_LIMIT else None


def start_stream(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, thread = str(args.get("channel") or ""), str(args.get("thread_ts") or "")
    if not channel:
        return error("channel_not_found")
    if channel in ws.not_joined:
        return error("not_in_channel")
    if not thread:
        return error("invalid_arguments")
    if not channel.startswith("D") and not (args.get("recipient_user_id")
                                            and args.get("recipient_team_id")):
        return error("channel_type_not_supported")
    text = _streamed_text(args)
    refused = _too_long_or_bad(text)
    if refused is not None:
        return refused
    message = ws.add({
        "type": "message", "channel": channel, "ts": ws.next_ts(), "user": ws.bot_user_id,
        "bot_id": BOT_ID, "team": ws.team_id, "text": text or "", "blocks": [],
        "thread_ts": thread, "metadata": None, "edits": [], "streaming": True,
        "streamed": True,  # shown as Slack shows it: the text, then any closing blocks
    })
    if ws.statuses.pop((channel, thread), None):  # the answer replaces "is working"
        ws.notify({"type": "status", "channel": channel, "thread_ts": thread, "status": ""})
    return {"ok": True, "channel": channel, "ts": message["ts"]}


def _streaming(ws: SandboxSlack, args: JsonDict) -> tuple[JsonDict | None, JsonDict | None]:
    """(the message being streamed, None) or (None, Slack's refusal)."""
    message = ws.find(str(args.get("channel") or ""), str(args.get("ts") or ""))
    if message is None:
        return None, error("message_not_found")
    if message.get("bot_id") != BOT_ID:
        return None, error("cant_update_message")
    if not message.get("streaming"):
        return None, error("message_not_in_streaming_state")
    return message, None


def append_stream(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    message, refused = _streaming(ws, args)
    text = _streamed_text(args)
    refused = refused or _too_long_or_bad(text) or (None if text else error("no_text"))
    if message is None or refused is not None:
        return refused or error("message_not_found")
    message["text"] += text
    ws.changed(message)
    return {"ok": True, "channel": message["channel"], "ts": message["ts"]}


def stop_stream(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    message, refused = _streaming(ws, args)
    text, blocks = _streamed_text(args), json_field(args.get("blocks"))
    refused = refused or _too_long_or_bad(text)
    if message is None or refused is not None:
        return refused or error("message_not_found")
    problems = block_problems(blocks)
    if problems:
        return {**error("invalid_blocks"), "response_metadata": {"messages": problems}}
    message["text"] += text or ""
    message["blocks"] = blocks or []
    message["metadata"] = json_field(args.get("metadata"))
    message["streaming"] = False
    ws.changed(message)
    return {"ok": True, "channel": message["channel"], "ts": message["ts"],
            "message": public(message)}


METHODS = {
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
    "chat.startStream": start_stream, "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
