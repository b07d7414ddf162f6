"""A reply as Slack messages: its sections packed into one message, or into several when
it does not fit one (posted in order in the thread, each its own notify step). Pure.

Per message: at most 50 blocks (Slack's limit), at most MESSAGE_CHARS characters of
sections (a message is read on a phone: past this, the next message is easier to read
than one Slack folds behind "Show more"), and the `text` fallback (notifications, screen
readers) capped under Slack's advised 4,000. The last message carries the rating buttons
and the footer; later messages open with a "continued" line.
"""

from dataclasses import dataclass
from typing import Any

from .approval_text import context, section
from .slack_text import cap

BLOCK_LIMIT = 50  # Slack: a message holds at most 50 blocks
MESSAGE_CHARS = 12_000
TEXT_LIMIT = 3_900  # Slack advises message text under 4,000 characters
Block = dict[str, Any]


@dataclass(frozen=True)
class Page:
    text: str
    blocks: list[Block]


def paginate(parts: list[str], tail: list[Block]) -> list[Page]:
    """`parts` (section texts, each within Slack's section limit) as messages; `tail`
    (buttons, footer) ends the last one."""
    room = BLOCK_LIMIT - len(tail) - 1  # one block for the "continued" line
    groups: list[list[str]] = [[]]
    for part in parts:
        group = groups[-1]
        if group and (len(group) >= room or _chars(group) + len(part) > MESSAGE_CHARS):
            groups.append(group := [])
        group.append(part)
    return [_page(group, n, len(groups), tail) for n, group in enumerate(groups, 1)]


def _chars(group: list[str]) -> int:
    return sum(len(part) for part in group)


def _page(group: list[str], n: int, total: int, tail: list[Block]) -> Page:
    blocks = [section(part) for part in group]
    if n > 1:
        blocks.insert(0, context(f"_(continued, {n} of {total})_"))
    if n == total:
        blocks += tail
    return Page(text=cap("\n\n".join(group), TEXT_LIMIT), blocks=blocks)
