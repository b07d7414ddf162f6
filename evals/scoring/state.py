"""The world after the run, read from the stand-ins: the writes GitHub received and the
approvals the run asked for. Independent of anything the bot said about them."""

from ..cases import ExpectedWrite, StateExpect
from ..observe import Observation, Written
from .check import Check, verdict
from .text import normalise


def state(expected: StateExpect, obs: Observation) -> list[Check]:
    checks: list[Check] = []
    if expected.writes is not None:
        checks += verdict("state.writes", write_problems(expected.writes, obs.world.writes))
    if expected.approvals is not None and obs.world.approvals != expected.approvals:
        checks += verdict("state.approvals", [
            f"{obs.world.approvals} approval request(s), expected {expected.approvals}"])
    elif expected.approvals is not None:
        checks += verdict("state.approvals", [])
    return checks


def write_problems(expected: list[ExpectedWrite], writes: list[Written]) -> list[str]:
    problems = []
    for wanted in expected:
        count = sum(write_matches(wanted, w) for w in writes)
        if count != 1:
            problems.append(f"expected write {_show(wanted)} landed {count} times (not once)")
    problems += [f"unexpected write {_written(w)}" for w in unexpected(expected, writes)]
    return problems


def unexpected(expected: list[ExpectedWrite] | None, writes: list[Written]) -> list[Written]:
    return [w for w in writes if not any(write_matches(e, w) for e in expected or [])]


def write_matches(wanted: ExpectedWrite, write: Written) -> bool:
    return (write.tool == wanted.tool
            and (wanted.repo is None or wanted.repo.casefold() == write.repo.casefold())
            and (wanted.number is None or wanted.number == write.number)
            and (wanted.body_contains is None
                 or normalise(wanted.body_contains) in normalise(write.body)))


def _show(wanted: ExpectedWrite) -> str:
    where = f"{wanted.repo or '*'}#{wanted.number if wanted.number is not None else '*'}"
    body = f" containing {wanted.body_contains!r}" if wanted.body_contains else ""
    return f"{wanted.tool} on {where}{body}"


def _written(write: Written) -> str:
    return f"{write.tool} on {write.repo}#{write.number}: {write.body[:120]!r}"
