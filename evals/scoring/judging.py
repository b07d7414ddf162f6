"""Where the LLM judge plugs into scoring. The judge itself (a model through the project's
router) lives in `evals.judge`; scoring only needs something that turns a question, an
answer and the expected elements into one judge check per element."""

from typing import Protocol

from ..cases import Element
from .check import Check

NO_MODEL = "skipped: no model"


class Judge(Protocol):
    def score(self, question: str, answer: str, expected: list[Element]) -> list[Check]:
        """One check per element, kind "judge", in the order given."""
        ...


def judge_checks(judge: Judge | None, question: str, answer: str,
                 expected: list[Element]) -> list[Check]:
    if not expected:
        return []
    if judge is None:
        return [Check(name=f"judge {e.text!r}", passed=False, kind="judge", skipped=True,
                      detail=NO_MODEL) for e in expected]
    return judge.score(question, answer, expected)
