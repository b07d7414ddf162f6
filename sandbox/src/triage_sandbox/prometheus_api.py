"""A Prometheus-shaped HTTP API serving a world's metric series and alerts, for the
sandbox and tests.

It cannot evaluate PromQL (`promql.py` says what it recognises: the metric an expression
selects and its label matchers). It answers in Prometheus's real JSON shapes and error
texts so the tools service's httpx connector runs unchanged: instant and range queries
(`vector`, `matrix`, the 11,000-points limit), series and label discovery, and the
alerting rules' alerts (`/api/v1/alerts`). An unknown metric is an empty result, as in
Prometheus; what looks like a syntax error is 400 `bad_data`. "Now" is the world's time
(`World.current()`: its anchor plus the time since it was loaded).
"""

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from .demo_data import build_demo
from .promql import BadData, answering, go_exp, go_float, selector, selects
from .world.model import Series, World
from .world_control import add_world_control

MAX_POINTS = 11_000  # Prometheus's per-series resolution limit for range queries
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(?:(\d+)(ms|s|m|h|d|w|y))+")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FOREVER = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


def _parse_time(name: str, value: str | None, default: float | None = None) -> float:
    if value is None or value == "":
        if default is None:
            raise BadData(f'invalid parameter "{name}": cannot parse "" to a valid timestamp')
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise BadData(f'invalid parameter "{name}": Invalid time value for \'{name}\': '
                      f'cannot parse "{value}" to a valid timestamp') from exc


def _parse_step(value: str | None) -> float:
    if not value:
        raise BadData('invalid parameter "step": cannot parse "" to a valid duration')
    try:
        seconds = float(value)
    except ValueError:
        if not _DURATION.fullmatch(value):
            raise BadData(f'invalid parameter "step": cannot parse "{value}" to a valid '
                          "duration") from None
        seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)",
                                                                 value))
    if seconds <= 0:
        raise BadData('invalid parameter "step": zero or negative query resolution step '
                      "widths are not accepted. Try a positive integer")
    return seconds


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _labels(s: Series) -> dict[str, str]:
    return {"__name__": s.name, **s.labels}


async def _params(request: Request) -> tuple[dict[str, str], list[str]]:
    """Parameters from the query string and a POSTed form, as Prometheus accepts both;
    and the repeated `match[]` values."""
    pairs = list(parse_qsl(request.url.query))
    if request.method == "POST":
        pairs += parse_qsl((await request.body()).decode())
    return dict(pairs), [v for k, v in pairs if k == "match[]"]


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message}, 400)


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data})


def _instant(world: World, params: dict[str, str]) -> dict[str, Any]:
    at = _parse_time("time", params.get("time"), world.current().timestamp())
    query = params.get("query", "")
    if re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", query):
        return {"resultType": "scalar", "result": [at, query.strip()]}
    samples = [(s, s.value_at(_at(at))) for s in answering(world.series, query)]
    return {"resultType": "vector", "result": [
        {"metric": _labels(s), "value": [at, go_float(v)]} for s, v in samples
        if v is not None]}


def _range(world: World, params: dict[str, str]) -> dict[str, Any]:
    start = _parse_time("start", params.get("start"))
    end = _parse_time("end", params.get("end"))
    if end < start:
        raise BadData('invalid parameter "end": end timestamp must not be before start time')
    step = _parse_step(params.get("step"))
    if (end - start) / step > MAX_POINTS:
        raise BadData("exceeded maximum resolution of 11,000 points per timeseries. "
                      "Try decreasing the query resolution (?step=XX)")
    stamps = [start + i * step for i in range(int((end - start) // step) + 1)]
    result = []
    for s in answering(world.series, params.get("query", "")):
        values = [[t, go_float(v)] for t in stamps if (v := s.value_at(_at(t))) is not None]
        if values:
            result.append({"metric": _labels(s), "values": values})
    return {"resultType": "matrix", "result": result}


def _selected(world: World, params: dict[str, str], match: list[str],
              required: bool) -> list[Series]:
    if required and not match:
        raise BadData("no match[] parameter provided")
    window = FOREVER
    if params.get("start") or params.get("end"):
        window = (_at(_parse_time("start", params.get("start"), -62135596800.0)),
                  _at(_parse_time("end", params.get("end"), 253402300799.0)))
    selectors = [selector(m) for m in match]
    return [s for s in world.series if s.present(*window)
            and (not selectors or any(selects(found, s) for found in selectors))]


def _alerts(world: World) -> list[dict[str, Any]]:
    now = world.current()
    out = []
    for alert in world.alerts:
        state = alert.state(now)
        if state is None:
            continue
        value = alert.value
        if value is None:
            found = answering(world.series, alert.expr)
            value = found[0].value_at(now) if found else None
        out.append({"labels": dict(sorted(alert.all_labels.items())),
                    "annotations": dict(sorted(alert.annotations.items())), "state": state,
                    "activeAt": alert.active_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "value": go_exp(value if value is not None else 1.0)})
    return out


class _Served:
    """The world being served; replaced whole by `PUT /sandbox/world`."""

    def __init__(self, world: World) -> None:
        self.world = world


def build_prometheus_api(demo: World | None = None, control_token: str | None = None
                         ) -> FastAPI:
    """`control_token` enables world replacement (`world_control.py`)."""
    served = _Served(demo or build_demo())
    app = FastAPI(title="SANDBOX Prometheus HTTP API (not a real Prometheus)")
    app.state.demo = served.world

    def replace(world: World) -> None:
        served.world = app.state.demo = world

    add_world_control(app, control_token, replace)

    @app.exception_handler(BadData)
    async def bad_data(_: Request, exc: BadData) -> JSONResponse:
        return _bad(str(exc))

    @app.api_route("/api/v1/query", methods=["GET", "POST"])
    async def instant(request: Request) -> JSONResponse:
        params, _ = await _params(request)
        return _ok(_instant(served.world, params))

    @app.api_route("/api/v1/query_range", methods=["GET", "POST"])
    async def range_query(request: Request) -> JSONResponse:
        params, _ = await _params(request)
        return _ok(_range(served.world, params))

    @app.api_route("/api/v1/series", methods=["GET", "POST"])
    async def series(request: Request) -> JSONResponse:
        params, match = await _params(request)
        return _ok([_labels(s) for s in _selected(served.world, params, match, required=True)])

    @app.api_route("/api/v1/labels", methods=["GET", "POST"])
    async def labels(request: Request) -> JSONResponse:
        params, match = await _params(request)
        found = _selected(served.world, params, match, required=False)
        return _ok(sorted({name for s in found for name in _labels(s)}))

    @app.get("/api/v1/label/{name}/values")
    async def label_values(name: str, request: Request) -> JSONResponse:
        if not _LABEL.fullmatch(name):
            raise BadData(f'invalid label name: "{name}"')
        params, match = await _params(request)
        found = _selected(served.world, params, match, required=False)
        return _ok(sorted({v for s in found if (v := _labels(s).get(name)) is not None}))

    @app.get("/api/v1/alerts")
    async def alerts() -> JSONResponse:
        return _ok({"alerts": _alerts(served.world)})

    _static(app)
    return app


def _static(app: FastAPI) -> None:
    @app.get("/api/v1/status/buildinfo")
    async def buildinfo() -> JSONResponse:
        return _ok({"version": "2.42.0-sandbox", "revision": "sandbox", "branch": "sandbox",
                    "buildUser": "triage-sandbox", "buildDate": "20230101-00:00:00",
                    "goVersion": "go1.19"})

    @app.get("/-/healthy")
    async def healthy() -> PlainTextResponse:
        return PlainTextResponse("Prometheus Server is Healthy.\n")

    @app.get("/-/ready")
    async def ready() -> PlainTextResponse:
        return PlainTextResponse("Prometheus Server is Ready.\n")
