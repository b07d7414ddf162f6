"""An Alertmanager-shaped API v2 serving a world's firing alerts, for the sandbox and tests.

`GET /api/v2/alerts` answers in Alertmanager's exact shape (labels, annotations, startsAt,
endsAt, updatedAt, fingerprint, generatorURL, receivers, status with silencedBy and
inhibitedBy), sorted by fingerprint, with its `active`/`silenced`/`inhibited`/
`unprocessed`/`receiver`/`filter` parameters and its error texts. Alerts are those of the
world's alerting rules that fire now (Prometheus sends only firing ones); silences and
inhibition rules of the world decide what is suppressed. `GET /api/v2/silences` lists
the silences that `silencedBy` names. Nothing here is a real Alertmanager.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from .demo_data import build_demo
from .world.model import Alert, Silence, World
from .world_control import add_world_control

RESEND = timedelta(minutes=1)  # Prometheus re-sends firing alerts every minute...
VALID_FOR = timedelta(minutes=4)  # ...each valid for four resend intervals
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.S)
_TRUE = {"true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"}


class BadRequest(ValueError):
    """Answered as Alertmanager does: 400 with the message as a JSON string."""


def fingerprint(labels: dict[str, str]) -> str:
    """Prometheus's label-set fingerprint (FNV-1a 64 over sorted names and values)."""
    digest = 14695981039346656037
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                digest = ((digest ^ byte) * 1099511628211) % 2**64
    return f"{digest:016x}"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _unescape(raw: str, original: str) -> str:
    """Alertmanager's matcher value rules: optional quotes, \\n, \\" and \\\\ escapes."""
    quoted = raw.startswith('"')
    raw, out, escaped = raw.removeprefix('"'), [], False
    for i, char in enumerate(raw):
        if escaped:
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
            escaped = False
        elif char == "\\" and i < len(raw) - 1:
            escaped = True
        elif char == '"':
            if not quoted or i < len(raw) - 1:
                raise BadRequest(f"matcher value contains unescaped double quote: {original}")
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise BadRequest(f"matcher value contains unescaped double quote: {original}")
    return "".join(out)


def parse_matcher(text: str) -> tuple[str, str, str]:
    match = _MATCHER.match(text)
    if match is None:
        raise BadRequest(f"bad matcher format: {text}")
    name, op, raw = match.groups()
    value = _unescape(raw, raw)
    if op in ("=~", "!~"):
        _regex(value)
    return name, op, value


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(f"^(?:{value})$")
    except re.error as exc:
        raise BadRequest(f"error parsing regexp: {exc}: `^(?:{value})$`") from None


def _holds(matcher: tuple[str, str, str], labels: dict[str, str]) -> bool:
    name, op, value = matcher
    actual = labels.get(name, "")
    if op in ("=", "!="):
        return (actual == value) == (op == "=")
    return (_regex(value).match(actual) is not None) == (op == "=~")


class Alertmanager:
    """The alerts a world's Alertmanager holds at a moment, with their status."""

    def __init__(self, world: World, generator_base: str) -> None:
        self.world, self.generator_base = world, generator_base

    def firing(self, now: datetime) -> list[Alert]:
        return [a for a in self.world.alerts if a.state(now) == "firing"]

    def status(self, alert: Alert, now: datetime) -> dict[str, Any]:
        labels = alert.all_labels
        silenced = [s.silence_id for s in self.world.silences if s.mutes(labels, now)]
        inhibited = sorted(
            fingerprint(other.all_labels) for other in self.firing(now) if other != alert
            and any(r.inhibits(other.all_labels, labels) for r in self.world.inhibit_rules))
        return {"inhibitedBy": inhibited, "silencedBy": silenced,
                "state": "suppressed" if silenced or inhibited else "active"}

    def view(self, alert: Alert, now: datetime) -> dict[str, Any]:
        updated = now - (now - alert.fired_at) % RESEND
        # Prometheus builds the link with Go's url.QueryEscape (spaces as "+").
        url = f"{self.generator_base}/graph?g0.expr={quote_plus(alert.expr)}&g0.tab=1"
        return {"annotations": dict(sorted(alert.annotations.items())),
                "endsAt": _stamp(updated + VALID_FOR),
                "fingerprint": fingerprint(alert.all_labels),
                "receivers": [{"name": r} for r in alert.receivers],
                "startsAt": _stamp(alert.fired_at), "status": self.status(alert, now),
                "updatedAt": _stamp(updated), "generatorURL": url,
                "labels": dict(sorted(alert.all_labels.items()))}


def _flag(params: list[tuple[str, str]], name: str) -> bool:
    values = [v for k, v in params if k == name]
    return not values or values[-1].lower() in _TRUE


def _wanted(view: dict[str, Any], params: list[tuple[str, str]],
            matchers: list[tuple[str, str, str]]) -> bool:
    status = view["status"]
    receiver = next((v for k, v in reversed(params) if k == "receiver"), None)
    return ((_flag(params, "active") or status["state"] != "active")
            and (_flag(params, "silenced") or not status["silencedBy"])
            and (_flag(params, "inhibited") or not status["inhibitedBy"])
            and all(_holds(m, view["labels"]) for m in matchers)
            and (receiver is None or any(_regex(receiver).match(r["name"])
                                         for r in view["receivers"])))


def build_alertmanager_api(demo: World | None = None,
                           generator_base: str = "http://prometheus.demo-org.example:9090",
                           control_token: str | None = None) -> FastAPI:
    """`generator_base`: the Prometheus URL the alerts' generatorURL links point to;
    `control_token` enables world replacement (`world_control.py`)."""
    manager = Alertmanager(demo or build_demo(), generator_base)
    app = FastAPI(title="SANDBOX Alertmanager API v2 (not a real Alertmanager)")
    app.state.alertmanager = manager
    add_world_control(app, control_token, lambda world: setattr(manager, "world", world))

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse(str(exc), 400)

    @app.get("/api/v2/alerts")
    async def alerts(request: Request) -> JSONResponse:
        params = parse_qsl(request.url.query, keep_blank_values=True)
        matchers = [parse_matcher(v) for k, v in params if k == "filter"]
        now = manager.world.current()
        views = [manager.view(a, now) for a in manager.firing(now)]
        chosen = [v for v in views if _wanted(v, params, matchers)]
        return JSONResponse(sorted(chosen, key=lambda v: v["fingerprint"]))

    @app.get("/api/v2/silences")
    async def silences() -> JSONResponse:
        now = manager.world.current()
        return JSONResponse([_silence(s, now) for s in manager.world.silences])

    @app.get("/-/healthy")
    async def healthy() -> PlainTextResponse:
        return PlainTextResponse("OK")

    @app.get("/-/ready")
    async def ready() -> PlainTextResponse:
        return PlainTextResponse("OK")

    return app


def _silence(silence: Silence, now: datetime) -> dict[str, Any]:
    state = ("pending" if now < silence.starts_at else
             "expired" if now >= silence.ends_at else "active")
    return {"id": silence.silence_id, "status": {"state": state},
            "updatedAt": _stamp(silence.starts_at), "comment": silence.comment,
            "createdBy": silence.created_by, "endsAt": _stamp(silence.ends_at),
            "matchers": [{"isEqual": True, "isRegex": False, "name": k, "value": v}
                         for k, v in silence.matchers.items()],
            "startsAt": _stamp(silence.starts_at)}
