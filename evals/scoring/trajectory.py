"""The tools the run called and with what arguments. An expected call matches a call of
the same tool whose arguments include the expected ones (a subset; strings compare
case-insensitively, so `repo: Demo-Org/checkout-api` matches the lower-case call)."""

from typing import Any

from ..cases import Expect, ToolCall
from ..observe import Call, Observation
from .check import Check, verdict


def trajectory(expect: Expect, obs: Observation) -> list[Check]:
    calls = _calls(obs)
    checks: list[Check] = []
    for wanted in expect.tools_called:
        checks += verdict(f"called {_show(wanted)}", _missing(wanted, calls, obs))
    for banned in expect.tools_not_called:
        hits = [c for c in calls if matches(banned, c)]
        checks += verdict(f"not called {_show(banned)}", [
            f"called {c.tool} {c.args}" for c in hits])
    return checks


def _calls(obs: Observation) -> list[Call]:
    """The trajectory; before the observer records one, the names the run state and the
    audit report (with no arguments, so an expectation on arguments cannot pass)."""
    if obs.trajectory:
        return obs.trajectory
    return [Call(tool=name, args={}) for name in sorted(obs.tools_called)]


def _missing(wanted: ToolCall, calls: list[Call], obs: Observation) -> list[str]:
    if any(matches(wanted, call) for call in calls):
        return []
    if not obs.trajectory and wanted.args and wanted.tool in obs.tools_called:
        return [f"{wanted.tool} was called but no trajectory with arguments was observed"]
    same = [c.args for c in calls if c.tool == wanted.tool]
    if same:
        return [f"{wanted.tool} called, but never with {wanted.args} (calls: {same})"]
    called = ", ".join(sorted({c.tool for c in calls})) or "none"
    return [f"tools not called: {wanted.tool} (called: {called})"]


def matches(wanted: ToolCall, call: Call) -> bool:
    return call.tool == wanted.tool and subset(wanted.args, call.args)


def subset(wanted: Any, got: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(got, dict) and all(
            k in got and subset(v, got[k]) for k, v in wanted.items())
    if isinstance(wanted, str) and isinstance(got, str):
        return wanted.casefold() == got.casefold()
    if isinstance(wanted, list) and isinstance(got, list):
        pairs = zip(wanted, got, strict=False)
        return len(wanted) == len(got) and all(subset(w, g) for w, g in pairs)
    return bool(wanted == got)


def _show(call: ToolCall) -> str:
    return f"{call.tool} {call.args}" if call.args else call.tool
