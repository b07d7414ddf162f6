"""Loading a world file into the in-memory world the stand-ins serve.

`load_world("demo")` loads a world shipped with the sandbox (`world/<name>.yaml`); any
other value is a path. A file may `extends:` another world: mappings merge key by key,
lists are appended, other values are replaced. Commit SHAs are derived from the
repository, message and time when the file gives none, so they stay the same from one
load to the next (evals cite them).
"""

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


def world_path(source: str | Path) -> Path:
    packaged = PACKAGED / f"{source}.yaml"
    return packaged if isinstance(source, str) and packaged.is_file() else Path(source)


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
    if not isinstance(data, dict):
        raise WorldError(f"{path}: a world file holds a mapping at the top")
    # Top-level `x-...` keys only hold YAML anchors for reuse (as in docker-compose files).
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    parent = data.pop("extends", None)
    if parent is None:
        return data
    return _merge(_raw(world_path(parent), depth + 1), data)  # type: ignore[no-any-return]


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
