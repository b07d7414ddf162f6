"""Long Slack mrkdwn cut into sections Slack accepts (3,000 characters each). Pure.

Cuts fall on the best boundary before the limit: a blank line, else a line end, else a
space, else any character. Never inside something a cut would break: a link or mention
`<…>`, an entity such as `&amp;`, or (except at a line end) a code fence. A fence cut at a
line end is closed at the end of its section and reopened at the start of the next, so
each section renders on its own.

Invariant callers rely on: `"".join(pieces(text, limit)) == text`; every string of
`sections(text, limit)` is at most `limit` characters and not blank.
"""

import re
from collections.abc import Callable

SECTION_LIMIT = 3_000  # Slack: a section's text is at most 3,000 characters
FENCE = "```"
_FENCE_REPAIR = len(FENCE) * 2 + 2  # "```\n" before and "\n```" after
_ATOMIC = re.compile(r"<[^<>\n]*>|&(?:[A-Za-z]+|#\d+);")
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)

Cut = Callable[[str, int], bool]


def _blank_line(text: str, i: int) -> bool:
    return text[i - 2:i] == "\n\n"


def _line_end(text: str, i: int) -> bool:
    return text[i - 1] == "\n"


def _space(text: str, i: int) -> bool:
    return text[i - 1] == " "


def _anywhere(_: str, __: int) -> bool:
    return True


PREFERENCE: tuple[Cut, ...] = (_blank_line, _line_end, _space, _anywhere)


class _Guard:
    """Which cut positions are safe in `text` (a cut at i ends a piece with text[i-1])."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.atomic = _inside(text, _ATOMIC)
        self.fenced = _inside(text, _FENCED)

    def safe(self, i: int) -> bool:
        if self.atomic[i]:
            return False
        return not self.fenced[i] or _line_end(self.text, i)

    def in_fence(self, i: int) -> bool:
        """Whether a cut at i leaves a code fence open."""
        return bool(self.fenced[i])


def _inside(text: str, pattern: re.Pattern[str]) -> bytearray:
    """For each cut position 0..len(text): 1 where it falls strictly inside a match."""
    marks = bytearray(len(text) + 1)
    for match in pattern.finditer(text):
        start, end = match.span()
        marks[start + 1:end] = b"\x01" * max(0, end - start - 1)
    return marks


def _cut(text: str, start: int, limit: int, guard: _Guard) -> int:
    """Where the piece starting at `start` ends (at most `limit` characters later)."""
    end = start + limit
    if len(text) <= end:
        return len(text)
    for good in PREFERENCE:
        for i in range(end, start, -1):
            if good(text, i) and guard.safe(i):
                return i
    # One unbreakable run longer than the limit (a link longer than a section): cutting it
    # is the only way to post it at all.
    return end


def pieces(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in consecutive pieces of at most `limit` characters that join back to it."""
    if limit < 1:
        raise ValueError("limit must be positive")
    guard, out, start = _Guard(text), [], 0
    while start < len(text):
        end = _cut(text, start, limit, guard)
        out.append(text[start:end])
        start = end
    return out


def sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` as Slack section texts: pieces with their edge blank lines dropped and any
    code fence a cut left open closed and reopened."""
    guard, out, start = _Guard(text), [], 0
    for piece in pieces(text, limit - _FENCE_REPAIR):
        end = start + len(piece)
        body = piece.lstrip("\n").rstrip()
        if guard.in_fence(start) and body:
            body = f"{FENCE}\n{body}"
        if guard.in_fence(end) and body:
            body = f"{body}\n{FENCE}"
        if body.strip():
            out.append(body)
        start = end
    return out
