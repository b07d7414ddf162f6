"""Block Kit and mrkdwn as HTML, so the sandbox channel page shows the bot's messages the
way Slack would, well enough to read: sections (text, fields, button accessory), context,
dividers, headers, images, action buttons, and the inputs of a modal.

Everything that comes from a message is escaped; only http(s) and mailto links become
clickable, so a message can never inject markup or script into the page.
"""

import html
import re
from collections.abc import Mapping
from typing import Any

JsonDict = dict[str, Any]
_INLINE = re.compile(r"`(?P<code>[^`\n]+)`|<(?P<angle>[^<>\n]+)>")
_PRE = re.compile(r"```\n?(.*?)```", re.S)
_EMPHASIS = [  # (marker, tag): Slack's *bold*, _italic_, ~strike~ inside one line
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
]
EMOJI = {":white_check_mark:": "✅", ":warning:": "⚠️", ":no_entry:": "⛔", ":x:": "❌",
         ":mag:": "🔍", ":rotating_light:": "🚨", ":hourglass:": "⌛", ":lock:": "🔒",
         ":eyes:": "👀", ":robot_face:": "🤖", ":memo:": "📝", ":link:": "🔗"}
_SAFE_SCHEMES = ("https://", "http://", "mailto:")

_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((https?://[^)\s]+)\)")
_MD_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_MD_STRIKE = re.compile(r"~~([^~\n]+)~~")

def _unslack(text: str) -> str:
    """Slack escapes only &, < and > in message text; undo that before HTML-escaping."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _emoji(text: str) -> str:
    return re.sub(r":[a-z0-9_+-]+:", lambda m: EMOJI.get(m.group(0), m.group(0)), text)


def _format(text: str) -> str:
    """Escape, then Slack's emphasis (which may span mentions and links: see _inline)."""
    out = _esc(_emoji(_unslack(text)))
    for pattern, tag in _EMPHASIS:
        out = pattern.sub(rf"<{tag}>\1</{tag}>", out)
    return out


def _link(target: str, label: str | None, names: Mapping[str, str]) -> str:
    shown = _inline(label, names) if label else _esc(_unslack(target.removeprefix("mailto:")))
    if target.lower().startswith(_SAFE_SCHEMES):
        return (f'<a href="{_esc(_unslack(target))}" target="_blank" '
                f'rel="noopener noreferrer">{shown}</a>')
    return shown


def _angle(body: str, names: Mapping[str, str]) -> str:
    """`<@U1>`, `<#C1|name>`, `<!here>`, `<url|label>` and friends."""
    target, _, label = body.partition("|")
    if target.startswith("@"):
        user = target[1:]
        return f'<span class="mention">@{_esc(names.get(user, label or user))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{_esc(label or target[1:])}</span>'
    if target.startswith("!"):
        word = label or target[1:].split("^")[0]
        return f'<span class="mention">{_esc(word if word.startswith("@") else "@" + word)}</span>'
    return _link(target, label or None, names)


def _inline(line: str, names: Mapping[str, str]) -> str:
    """One line: code spans and `<...>` constructs become placeholders first, so that
    emphasis can wrap them (`*Approved by <@U1>*`) without ever touching their HTML."""
    parts: list[str] = []

    def hold(match: re.Match[str]) -> str:
        if match.group("code") is not None:
            parts.append(f"<code>{_esc(_unslack(match.group('code')))}</code>")
        else:
            parts.append(_angle(match.group("angle"), names))
        return f"\ue000{len(parts) - 1}\ue001"

    held = _INLINE.sub(hold, line.replace("\ue000", "").replace("\ue001", ""))
    return re.sub("\ue000(\\d+)\ue001", lambda m: parts[int(m.group(1))], _format(held))


def _lines(text: str, names: Mapping[str, str]) -> str:
    """Lines with `> quote` runs grouped into one blockquote."""
    out: list[str] = []
    quote: list[str] = []
    for line in text.split("\n"):
        stripped = line[4:] if line.startswith("&gt;") else line[1:] if line.startswith(">") \
            else None
        if stripped is not None:
            quote.append(_inline(stripped.removeprefix(" "), names))
            continue
        if quote:
            out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        out.append(_inline(line, names) + "<br>")
    if quote:
        out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    return "".join(out).removesuffix("<br>")


def mrkdwn(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack's mrkdwn as safe HTML."""
    names = names or {}
    out, pos = [], 0
    for match in _PRE.finditer(text):
        out.append(_lines(text[pos:match.start()], names))
        out.append(f"<pre>{_esc(_unslack(match.group(1)))}</pre>")
        pos = match.end()
    out.append(_lines(text[pos:], names))
    return "".join(out)


def text_object(obj: Any, names: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, names)
    return _esc(_emoji(text)).replace("\n", "<br>")


def button(element: JsonDict, block_id: str, names: Mapping[str, str]) -> str:
    style = element.get("style") if element.get("style") in ("primary", "danger") else ""
    return (f'<button type="button" class="bk-button {style}"{_confirm(element)} '
            f'data-action-id="{_esc(str(element.get("action_id", "")))}" '
            f'data-block-id="{_esc(block_id)}" '
            f'data-value="{_esc(str(element.get("value", "")))}">'
            f'{text_object(element.get("text"), names)}</button>')


def _confirm(element: JsonDict) -> str:
    """Slack asks before sending a button that carries a `confirm` dialog: so does the page."""
    confirm = element.get("confirm")
    if not isinstance(confirm, dict):
        return ""
    title = str((confirm.get("title") or {}).get("text", ""))
    text = str((confirm.get("text") or {}).get("text", ""))
    return f' data-confirm="{_esc(f"{title} {text}".strip())}"'


def _element(element: Any, block_id: str, names: Mapping[str, str]) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return button(element, block_id, names)
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{text_object(element, names)}</span>"
    if kind == "image":
        return f'<span class="bk-alt">[{_esc(str(element.get("alt_text", "image")))}]</span>'
    return f'<span class="bk-unsupported">[{_esc(str(kind))}]</span>'


def _input(block: JsonDict, block_id: str, names: Mapping[str, str]) -> str:
    element = block.get("element") or {}
    action_id = _esc(str(element.get("action_id", "")))
    field_attrs = f'data-block-id="{_esc(block_id)}" data-action-id="{action_id}"'
    control = (f"<textarea {field_attrs} rows=\"3\"></textarea>" if element.get("multiline")
               else f'<input type="text" {field_attrs}>')
    return (f'<label class="bk-input">{text_object(block.get("label"), names)}{control}'
            f'<span class="bk-error" data-error-for="{_esc(block_id)}"></span></label>')


def block(item: Any, names: Mapping[str, str]) -> str:
    if not isinstance(item, dict):
        return ""
    kind, block_id = item.get("type"), str(item.get("block_id", ""))
    if kind == "section":
        fields = "".join(f"<div>{text_object(f, names)}</div>" for f in item.get("fields") or [])
        accessory = _element(item["accessory"], block_id, names) if item.get("accessory") else ""
        return (f'<div class="bk-section"><div class="bk-text">'
                f'{text_object(item.get("text"), names)}'
                f'{f"<div class=bk-fields>{fields}</div>" if fields else ""}</div>'
                f'{accessory}</div>')
    if kind == "context":
        parts = " ".join(_element(e, block_id, names) for e in item.get("elements") or [])
        return f'<div class="bk-context">{parts}</div>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind == "header":
        return f'<div class="bk-header">{text_object(item.get("text"), names)}</div>'
    if kind == "actions":
        parts = "".join(_element(e, block_id, names) for e in item.get("elements") or [])
        return f'<div class="bk-actions">{parts}</div>'
    if kind == "image":
        return f'<div class="bk-alt">[image: {_esc(str(item.get("alt_text", "")))}]</div>'
    if kind == "input":
        return _input(item, block_id, names)
    return f'<div class="bk-unsupported">[unsupported block: {_esc(str(kind))}]</div>'


def blocks(items: Any, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    return "".join(block(item, names) for item in items or [] if isinstance(items, list))


def from_markdown(text: str) -> str:
    """A stream's markdown (links, bold, strike-through) back as mrkdwn, to show it with
    the one renderer: `[label](url)`, `**bold**` and `~~strike~~`."""
    text = _MD_LINK.sub(lambda m: f"<{m[2]}|{m[1]}>", text)
    return _MD_STRIKE.sub(r"~\1~", _MD_BOLD.sub(r"*\1*", text))


def message_html(message: JsonDict, names: Mapping[str, str] | None = None) -> str:
    """A message's body: its blocks when it has some (as Slack shows them), else its text;
    a streamed message shows its text and then the blocks its stream closed with; then the
    files shared with it, each a download link."""
    raw = str(message.get("text", ""))
    if message.get("streamed"):
        raw = from_markdown(raw)
    text = f'<div class="bk-text">{mrkdwn(raw, names)}</div>'
    has_blocks = isinstance(message.get("blocks"), list) and bool(message["blocks"])
    if message.get("streamed"):
        body = text + (blocks(message["blocks"], names) if has_blocks else "")
    else:
        body = blocks(message["blocks"], names) if has_blocks else text
    return body + "".join(_file(f) for f in message.get("files") or [] if isinstance(f, dict))


def _file(file: JsonDict) -> str:
    href = _esc(str(file.get("url_private_download") or "#"))
    label = _esc(str(file.get("title") or file.get("name") or "file"))
    return (f'<a class="bk-file" data-testid="file" href="{href}" download>'
            f'\U0001F4C4 {label} <span class="bk-file-name">{_esc(str(file.get("name")))}'
            f'</span></a>')
