"""One verdict of one scorer on one trial. Kept in the results as it is, so a reader sees
exactly which check failed and why, and the judge's checks stay apart from the rest."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["deterministic", "judge"]


class Check(BaseModel):
    """`passed` is False for a skipped check (a judge with no model): a skip is never a
    pass, but it does not fail the trial either (see `counts`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    passed: bool
    detail: str = ""
    kind: Kind = "deterministic"
    skipped: bool = False
    prompt: str | None = None  # judge checks: the prompt the judge was given, kept as is

    @property
    def counts(self) -> bool:
        """Whether the check decides the trial's verdict."""
        return not self.skipped

    @property
    def failed(self) -> bool:
        return self.counts and not self.passed


def ok(name: str, detail: str = "") -> Check:
    return Check(name=name, passed=True, detail=detail)


def fail(name: str, detail: str) -> Check:
    return Check(name=name, passed=False, detail=detail)


def verdict(name: str, problems: list[str], fine: str = "") -> list[Check]:
    """One failing check per problem, or one passing check when there is none."""
    return [fail(name, p) for p in problems] or [ok(name, fine)]


def trial_passed(checks: list[Check]) -> bool:
    return not any(c.failed for c in checks)
