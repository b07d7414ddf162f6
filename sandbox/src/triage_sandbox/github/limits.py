"""GitHub's rate limits and conditional requests, enforced the way GitHub does, so tests and
benchmarks meet the real constraint instead of an endless free API.

- Primary limit per credential (a token, or "anonymous"): `limit` requests per hour window
  (GitHub: 5,000 for a token). Every answer carries `X-RateLimit-Limit/Remaining/Used/
  Reset/Resource`; past the limit GitHub answers 403 "API rate limit exceeded".
- Secondary limit (off unless set): more than `secondary_per_minute` requests within a
  minute answer 429 with `Retry-After`, GitHub's "You have exceeded a secondary rate limit".
- Conditional requests: a GET answered 200 carries an `ETag` (a digest of the body, so it
  changes when the world does); the same GET with a matching `If-None-Match` answers 304
  with no body, and a 304 does not count against the quota (GitHub's documented rule).

`GET /rate_limit` reads the counters without spending them, as on GitHub.
"""

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

DOCS_LIMITS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
WINDOW_S = 3600


@dataclass
class Usage:
    reset: int  # unix seconds at which the hour window starts over
    used: int = 0
    minute: list[float] = field(default_factory=list)  # times of the last minute's requests


@dataclass
class Limits:
    limit: int = 5000
    secondary_per_minute: int | None = None
    # Every credential's quota spent in a window ending then (unix seconds): refused with
    # that Reset until it passes, then full again as on GitHub (a fault suite's outage).
    spent_until: int | None = None
    usage: dict[str, Usage] = field(default_factory=dict)
    # Credentials with a quota of their own (a GitHub App installation's is higher).
    per_credential: dict[str, int] = field(default_factory=dict)

    def limit_for(self, who: str) -> int:
        return self.per_credential.get(who, self.limit)

    def of(self, who: str) -> Usage:
        now = time.time()
        usage = self.usage.get(who)
        if usage is None or usage.reset <= now:
            if self.spent_until is not None and self.spent_until > now:
                usage = Usage(reset=self.spent_until, used=self.limit_for(who))
            else:
                usage = Usage(reset=int(now) + WINDOW_S)
            self.usage[who] = usage
        return usage

    def refusal(self, who: str) -> Response | None:
        """GitHub's answer when `who` may not make another request now; None: it may."""
        usage = self.of(who)
        if usage.used >= self.limit_for(who):
            return self._stamped(JSONResponse(
                {"message": f"API rate limit exceeded for {who}.",
                 "documentation_url": DOCS_LIMITS, "status": "403"}, 403), who, usage)
        now = time.time()
        usage.minute = [t for t in usage.minute if now - t < 60]
        if self.secondary_per_minute is not None \
                and len(usage.minute) >= self.secondary_per_minute:
            wait = max(1, int(60 - (now - usage.minute[0])) + 1)
            refused = JSONResponse(
                {"message": "You have exceeded a secondary rate limit. Please wait a few "
                 "minutes before you try again.", "documentation_url": DOCS_LIMITS,
                 "status": "429"}, 429, headers={"Retry-After": str(wait)})
            return self._stamped(refused, who, usage)
        return None

    def count(self, who: str) -> Usage:
        usage = self.of(who)
        usage.used += 1
        usage.minute.append(time.time())
        return usage

    def _stamped(self, response: Response, who: str, usage: Usage) -> Response:
        return stamp(response, self.limit_for(who), usage)

    def snapshot(self, who: str) -> dict[str, Any]:
        usage, limit = self.of(who), self.limit_for(who)
        return {"limit": limit, "used": usage.used,
                "remaining": max(0, limit - usage.used), "reset": usage.reset,
                "resource": "core"}


def stamp(response: Response, limit: int, usage: Usage) -> Response:
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(max(0, limit - usage.used))
    response.headers["X-RateLimit-Used"] = str(usage.used)
    response.headers["X-RateLimit-Reset"] = str(usage.reset)
    response.headers["X-RateLimit-Resource"] = "core"
    return response


def credential(request: Request) -> str:
    """Whom the quota is counted for: a GitHub App installation (set by the guard for its
    tokens), a digest of the token (never the token), else "anonymous"."""
    installation = getattr(request.state, "quota_key", None)
    if installation:
        return str(installation)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and value:
        return "token " + hashlib.sha256(value.encode()).hexdigest()[:12]
    return "anonymous"


async def conditional(request: Request, response: Response) -> tuple[Response, bool]:
    """The response with its ETag, or a 304 when the client's copy is current; the flag
    says whether the request counts against the quota (a 304 does not)."""
    if request.method != "GET" or response.status_code != 200:
        return response, True
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    headers["ETag"] = etag
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"ETag": etag}), False
    return Response(body, response.status_code, headers=headers), True
