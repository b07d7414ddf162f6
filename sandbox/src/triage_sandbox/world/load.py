"""Loading a world file into the in-memory world the stand-ins serve.

`load_world("demo")` loads a world shipped with the sandbox (`world/<name>.yaml`); any
other value is a path. A file may `extends:` another world: mappings merge key by key,
lists are appended, other values are replaced. A relative `extends` path is read from the
extending file's folder (so a case folder's attack overlay can extend its clean world
whatever the current directory). `resolve()` gives the merged mapping, which is what an
eval sends to a running stand-in (`PUT /sandbox/world`, where only packaged names may
be extended: a stand-in reads no paths it is sent). Commit SHAs are derived from the
repository, message and time when the file gives none, so they stay the same from one
load to the next (evals cite them).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .clock import Clock, span
from .model import Alert, InhibitRule, Person, Series, Silence, World
from .repos import build_repo
from .schema import AlertSpec, WorldSpec

PACKAGED = Path(__file__).parent


class WorldError(ValueError):
    """A world file that cannot be read, validated or resolved (says which and why)."""


def world_path(source: str | Path, folder: Path | None = None) -> Path:
    """A packaged world by name, else a path (relative ones from `folder` when given)."""
    packaged = PACKAGED / f"{source}.yaml"
    if isinstance(source, str) and packaged.is_file():
        return packaged
    path = Path(source)
    return folder / path if folder is not None and not path.is_absolute() else path


def packaged(name: str) -> Path:
    """A packaged world only (what a running stand-in may be asked to extend)."""
    path = PACKAGED / f"{name}.yaml"
    if "/" in name or "\\" in name or not path.is_file():
        raise WorldError(f"extends: {name!r} is not a packaged world (a world sent to a "
                         "stand-in may extend only those; resolve() the file first)")
    return path


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _merge(base[k], v) if k in base else v for k, v in extra.items()}}
    if isinstance(base, list) and isinstance(extra, list):
        return base + extra
    return extra


def _raw(path: Path, depth: int = 0) -> dict[str, Any]:
    if depth > 5:
        raise WorldError(f"{path}: `extends` nests deeper than 5 files (a cycle?)")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise WorldError(f"cannot read world file {path}: {exc}") from exc
    return _extend(data, str(path), lambda parent: _raw(world_path(parent, path.parent),
                                                        depth + 1))


def _extend(data: Any, where: str, parent_of: Callable[[str], dict[str, Any]]
            ) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WorldError(f"{where}: a world file holds a mapping at the top")
    # Top-level `x-...` keys only hold YAML anchors for reuse (as in docker-compose files).
    own: dict[str, Any] = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    parent = own.pop("extends", None)
    if parent is None:
        return own
    merged: dict[str, Any] = _merge(parent_of(str(parent)), own)
    return merged


def resolve(source: str | Path) -> dict[str, Any]:
    """The world file's mapping with every `extends` merged in (no `extends` left)."""
    return _raw(world_path(source))


def spec_of(data: Any, where: str = "world") -> WorldSpec:
    """A world sent as data (a running stand-in's `PUT /sandbox/world`): it may extend a
    packaged world by name, never a path."""
    merged = _extend(data, where, lambda parent: _raw(packaged(parent)))
    try:
        return WorldSpec.model_validate(merged)
    except ValidationError as exc:
        raise WorldError(f"{where}: {exc}") from exc


def read_spec(source: str | Path) -> WorldSpec:
    path = world_path(source)
    try:
        return WorldSpec.model_validate(_raw(path))
    except ValidationError as exc:
        raise WorldError(f"{path}: {exc}") from exc


def load_world(source: str | Path, now: datetime | None = None) -> World:
    """The world of a file; `now` (else the file's `now`, else the current time) anchors
    its relative times."""
    spec = read_spec(source)
    try:
        return build_world(spec, now)
    except (KeyError, ValueError) as exc:
        raise WorldError(f"{world_path(source)}: {exc}") from exc


def build_world(spec: WorldSpec, now: datetime | None = None) -> World:
    """Raises KeyError/ValueError on dangling references (load_world says which file)."""
    anchor = (now or spec.now or datetime.now(UTC)).replace(microsecond=0)
    clock = Clock(anchor)
    people = {login: Person(login, p.name, p.id, p.member) for login, p in spec.people.items()}
    comment_ids = iter(range(900_001, 10**9))
    repos = {name: build_repo(spec.org, name, repo, people, clock, comment_ids)
             for name, repo in spec.repos.items()}
    alerts = [_alert(a, clock) for a in spec.alerts]
    series = [Series(s.metric, dict(s.labels), tuple((clock.maybe(v.from_), v.value)
                                                     for v in s.values), s.noise)
              for s in spec.series]
    return World(
        now=clock.now, repos=repos, incident_start=clock.maybe(spec.incident_start),
        series=series + [s for a in alerts for s in _alert_series(a)], alerts=alerts,
        silences=[Silence(s.id, dict(s.matchers), clock.at(s.starts), clock.at(s.ends),
                          s.created_by, s.comment) for s in spec.silences],
        inhibit_rules=[InhibitRule(dict(r.source), dict(r.target), tuple(r.equal))
                       for r in spec.inhibit_rules],
    )


def _alert(spec: AlertSpec, clock: Clock) -> Alert:
    active = clock.at(spec.active)
    return Alert(spec.name, dict(spec.labels), dict(spec.annotations), spec.expr, active,
                 active + span(spec.for_), clock.maybe(spec.resolved), spec.value,
                 tuple(spec.receivers))


def _alert_series(alert: Alert) -> list[Series]:
    """Prometheus's own `ALERTS` series: 1 while pending, then 1 while firing."""
    def labels(state: str) -> dict[str, str]:
        return {"alertname": alert.name, "alertstate": state, **alert.labels}

    end = ((alert.resolved_at, None),) if alert.resolved_at is not None else ()
    out = [Series("ALERTS", labels("firing"), ((alert.fired_at, 1.0), *end))]
    if alert.fired_at > alert.active_at:
        out.append(Series("ALERTS", labels("pending"), ((alert.active_at, 1.0),
                                                        (alert.fired_at, None))))
    return out
