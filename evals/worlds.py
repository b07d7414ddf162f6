"""Putting a case's world into the running stand-ins before each of its trials.

The case's world (a file in its folder, or a packaged world by name) is resolved HERE,
`extends` chains included (relative ones from the extending file's folder), and the
merged mapping is sent to the GitHub, Prometheus and Alertmanager stand-ins
(`PUT /sandbox/world` with the stack's control token), which rebuild their world from it
and forget the previous trial's recorded comments. The attacked trial of an injection
case sends the attack overlay instead (it `extends:` the clean world). Only mock mode
can do this: live mode runs against whatever world the real systems hold.
"""

import json
from datetime import date, datetime
from typing import Any

import httpx
from triage_sandbox.world import WorldError, resolve
from triage_sandbox.world.load import build_world, spec_of
from triage_sandbox.world_control import PATH

from .cases import Case, CaseError
from .target import Target

STANDINS = ("github", "prometheus", "alertmanager")
_HTTP = 30.0


def world_data(case: Case, attacked: bool = False) -> dict[str, Any]:
    """The case's world (or its attack overlay) as one mapping without `extends`."""
    source = case.file(case.spec.attack.world) if attacked and case.spec.attack else case.world
    try:
        data: dict[str, Any] = resolve(source)
    except WorldError as exc:
        raise CaseError(f"{case.path}: its world does not load: {exc}") from None
    return data


def check_worlds(cases: list[Case]) -> None:
    """Every case's world (and attack overlay) loads as a stand-in would load it: a bad
    world stops the run before any stack starts, naming the case and the reason."""
    for case in cases:
        for attacked in ([False, True] if case.spec.attack else [False]):
            data = world_data(case, attacked)
            try:
                build_world(spec_of(json.loads(json.dumps(data, default=_iso))),
                            case.spec.now)
            except (WorldError, KeyError, ValueError) as exc:
                which = "attack world" if attacked else "world"
                raise CaseError(f"{case.path}: its {which} does not load: {exc}") from None


def load_world(target: Target, case: Case, attacked: bool = False) -> None:
    """Every world stand-in serves the case's world from now on (same `now` for all)."""
    if not target.per_case_worlds:
        raise RuntimeError("this stack takes no per-case world (no control token: live "
                           "mode, or stand-ins started without SANDBOX_CONTROL_TOKEN)")
    # YAML reads unquoted timestamps as datetimes: sent as ISO text, as they were written.
    body = json.dumps({"world": world_data(case, attacked), "now": _now(case)}, default=_iso)
    headers = {"Authorization": f"Bearer {target.control_token}",
               "Content-Type": "application/json"}
    for name in STANDINS:
        if name not in target.urls:
            continue  # a real system in this stack: nothing to replace
        resp = httpx.put(target.url(name) + PATH, content=body, headers=headers,
                         timeout=_HTTP)
        if resp.status_code != 200:
            raise RuntimeError(f"the {name} stand-in refused the world of {case.name}: "
                               f"{resp.status_code} {resp.text[:500]}")


def _now(case: Case) -> str | None:
    now: datetime | None = case.spec.now
    return now.isoformat() if now is not None else None


def _iso(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
