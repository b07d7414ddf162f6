"""A Prometheus-shaped HTTP API serving the demo error ratios, for the sandbox and tests.

It cannot evaluate PromQL. It answers in Prometheus's real JSON shapes so the tools
service's httpx connector runs unchanged: it recognises `service="<name>"` in a query and
serves that service's demo error ratio (from `demo_data`, so it agrees with the GitHub
stand-in's story), names the series after the query's metric, and rejects what looks like
a syntax error (unbalanced brackets) the way Prometheus does: 400 with `bad_data`.
"""

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from .demo_data import Demo, build_demo

MAX_POINTS = 11_000  # Prometheus's per-series resolution limit for range queries
_SERVICE = re.compile(r'\bservice\s*=\s*"([^"]*)"')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                       "and", "or", "unless", "offset", "inf", "nan"})
_PAIRS = {"(": ")", "{": "}", "[": "]"}
_NAMES = {"(": "parenthesis", "{": "brace", "[": "bracket"}
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class BadData(ValueError):
    """A query or parameter Prometheus itself would reject with `bad_data`."""


def _syntax_error(query: str) -> str | None:
    """Prometheus's own parse error for unbalanced brackets and quotes (1-based columns)."""
    if not query.strip():
        return "1:1: parse error: no expression found in input"
    stack: list[tuple[str, int]] = []
    bare = _STRING.sub(lambda m: " " * len(m.group()), query)
    quote = bare.find('"')
    if quote >= 0:
        return f"1:{quote + 1}: parse error: unterminated quoted string"
    for pos, char in enumerate(bare, start=1):
        if char in _PAIRS:
            stack.append((char, pos))
        elif char in _PAIRS.values() and (not stack or _PAIRS[stack[-1][0]] != char):
            if char == "}":
                return f"1:{pos}: parse error: unexpected character: '}}'"
            return f"1:{pos + 1}: parse error: unexpected right {_closing_name(char)} '{char}'"
        elif char in _PAIRS.values():
            stack.pop()
    if stack and stack[-1][0] == "{":
        return f"1:{len(query) + 1}: parse error: unexpected end of input inside braces"
    if stack:
        return f"1:{len(query) + 1}: parse error: unclosed left {_NAMES[stack[-1][0]]}"
    return None


def _closing_name(char: str) -> str:
    return next(_NAMES[o] for o, c in _PAIRS.items() if c == char)


def _metric_name(query: str) -> str | None:
    """The first selector's metric name: identifiers outside labels, ranges and calls."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", _STRING.sub(" ", query))
    for match in _IDENT.finditer(bare):
        name, rest = match.group(), bare[match.end():].lstrip()
        before = bare[match.start() - 1] if match.start() else " "
        if name.lower() in _KEYWORDS or rest.startswith("(") or before.isdigit():
            continue
        return name
    return None


def _parse_time(name: str, value: str | None, default: float) -> float:
    if value is None or value == "":
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
        match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", value)
        if not match:
            raise BadData(f'invalid parameter "step": cannot parse "{value}" to a valid '
                          "duration") from None
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise BadData("zero or negative query resolution step widths are not accepted. "
                      "Try a positive integer")
    return seconds


def _series(demo: Demo, query: str) -> list[tuple[dict[str, str], str | None]]:
    """(labels, service) of each series the query selects; service None = constant 1."""
    error = _syntax_error(query)
    if error:
        raise BadData(f'invalid parameter "query": {error}')
    name = _metric_name(query)
    if name is None:
        raise BadData('invalid parameter "query": 1:1: parse error: no metric selector found '
                      "(the sandbox evaluates only selectors of the demo metrics)")
    wanted = list(dict.fromkeys(_SERVICE.findall(query)))
    services = [s for s in wanted if s in demo.repos] if wanted else list(demo.repos)
    return [({"__name__": name, "service": s, "job": s},
             None if name == "up" else s) for s in services]


def _value(demo: Demo, service: str | None, at: float) -> str:
    if service is None:
        return "1"
    ratio = demo.error_ratio(service, datetime.fromtimestamp(at, UTC))
    return format(ratio if ratio is not None else 0.0, "g")


async def _params(request: Request) -> dict[str, str]:
    """GET query parameters and POST url-encoded form fields, as Prometheus accepts both."""
    params = dict(request.query_params)
    if request.method == "POST":
        params.update(parse_qsl((await request.body()).decode()))
    return params


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message}, 400)


def _ok(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data})


def build_prometheus_api(demo: Demo | None = None) -> FastAPI:
    story = demo or build_demo()
    app = FastAPI(title="SANDBOX Prometheus HTTP API (not a real Prometheus)")
    app.state.demo = story

    @app.api_route("/api/v1/query", methods=["GET", "POST"])
    async def instant(request: Request) -> JSONResponse:
        params = await _params(request)
        try:
            at = _parse_time("time", params.get("time"), time.time())
            query = params.get("query", "")
            if re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", query):
                return _ok({"resultType": "scalar", "result": [at, query.strip()]})
            series = _series(story, query)
        except BadData as exc:
            return _bad(str(exc))
        result = [{"metric": labels, "value": [at, _value(story, svc, at)]}
                  for labels, svc in series]
        return _ok({"resultType": "vector", "result": result})

    @app.api_route("/api/v1/query_range", methods=["GET", "POST"])
    async def range_query(request: Request) -> JSONResponse:
        params = await _params(request)
        try:
            start = _parse_time("start", params.get("start"), float("nan"))
            end = _parse_time("end", params.get("end"), float("nan"))
            if start != start or end != end:
                raise BadData('invalid parameter "start": cannot parse "" to a valid timestamp')
            step = _parse_step(params.get("step"))
            if end < start:
                raise BadData("end timestamp must not be before start time")
            if (end - start) / step > MAX_POINTS:
                raise BadData("exceeded maximum resolution of 11,000 points per timeseries. "
                              "Try decreasing the query resolution (?step=XX)")
            series = _series(story, params.get("query", ""))
        except BadData as exc:
            return _bad(str(exc))
        stamps = [start + i * step for i in range(int((end - start) // step) + 1)]
        result = [{"metric": labels, "values": [[t, _value(story, svc, t)] for t in stamps]}
                  for labels, svc in series]
        return _ok({"resultType": "matrix", "result": result})

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

    return app
