"""Expected elements of a good answer, found by normalised match: case, spacing,
punctuation and Slack/Markdown markup are ignored, so "*CI* is green." matches "ci is
green" but a different wording needs its own `match` alternative (or the judge)."""

from ..cases import Element
from ..observe import Observation
from .check import Check, fail, ok
from .text import contains


def elements(expected: list[Element], obs: Observation) -> list[Check]:
    return [element(e, obs.reply_text) for e in expected]


def element(expected: Element, answer: str) -> Check:
    name = f"element {expected.text!r}"
    if not expected.match:
        return Check(name=name, passed=False, skipped=True,
                     detail="no `match` alternatives: only the judge scores it")
    found = [m for m in expected.match if contains(answer, m)]
    if found:
        return ok(name, f"found {found[0]!r}")
    return fail(name, f"answer lacks {expected.text!r} (none of {expected.match} found)")
