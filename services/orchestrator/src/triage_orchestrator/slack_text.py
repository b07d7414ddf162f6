"""Slack mrkdwn from untrusted text. Pure.

Everything a model or a third party wrote is escaped (`&`, `<`, `>`), so no `<!channel>`,
`<!here>`, `<!subteam^…>`, `<@U…>` or masked link `<https://evil|https://github…>` can
survive from it: Slack shows such text literally. Links are only ever built here, by the
bot, from URLs it fetched itself.
"""

import re

_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_STRIKE = re.compile(r"~~(.+?)~~")
_UNSAFE_IN_URL = {"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20", '"': "%22"}


# Characters that show nothing but carry text: Unicode tag characters (a whole hidden
# message can be spelled in them), zero-width spaces and joiners that split words past a
# filter, bidi overrides that reorder what is shown. The zero-width joiner (U+200D) stays:
# emoji sequences need it.
INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064"
                       "\u2066-\u2069\ufeff\U000e0000-\U000e007f]")


def visible(text: str) -> str:
    """`text` without the characters that show nothing (see INVISIBLE)."""
    return INVISIBLE.sub("", text)


def escape(text: str) -> str:
    """Slack's three control characters (the order matters: & first), and no hidden
    characters: what the bot posts is what people see."""
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str) -> str:
    """A URL that cannot break out of `<url|label>`."""
    for char, code in _UNSAFE_IN_URL.items():
        url = url.replace(char, code)
    return url.replace("&", "&amp;")


def link(url: str, label: str) -> str:
    """A link the bot builds (the URL must come from fetched evidence)."""
    shown = escape(" ".join(label.split()) or url)
    return f"<{safe_url(url)}|{shown}>"


def mrkdwn(markdown: str) -> str:
    """Common Markdown a model writes, as Slack mrkdwn (bold, headings, strike-through).
    Runs on the raw text, before escaping: it adds no `<`, `>` or `&`."""
    text = _HEADING.sub(lambda m: f"*{m.group(1)}*", markdown)
    text = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)
    return _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)


def cap(text: str, limit: int) -> str:
    """Cut to `limit` characters without splitting a `<…>` link or an `&…;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    opened, entity = cut.rfind("<"), cut.rfind("&")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    if entity > cut.rfind(";") and entity >= len(cut) - 6:
        cut = cut[:entity]
    return cut + "…"
