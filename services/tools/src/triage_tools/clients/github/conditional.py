"""GitHub conditional requests and the credential's quota, under PyGithub's HTTP layer.

PyGithub 2.x keeps no HTTP cache and sends `If-None-Match` only from `GithubObject.update()`
on objects we never keep; its one public seam below the API objects is
`Requester.injectConnectionClasses`. Our connection classes do what PyGithub's do, plus:
- a GET answered 200 with an `ETag`/`Last-Modified` is remembered (keyed by team,
  credential digest, URL and `Accept`); the next identical GET sends `If-None-Match`/
  `If-Modified-Since`, and GitHub's 304 (which costs no quota) is served as the remembered
  200. Always revalidated, never served unasked: when the world behind the API changes,
  so does the ETag, and the new body comes back.
- every request is first checked against the credential's budget (`quota.py`), and every
  answer's rate-limit headers are recorded in it.

The classes are installed process-wide but act only inside `GitHubSession.call`, which sets
`LAYER` for its worker thread (`asyncio.to_thread` copies context variables); any other
PyGithub use in the process gets PyGithub's behaviour unchanged.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from ...scope import TEAM
from .quota import QuotaBook, resource_of

MAX_ENTRIES = 1024
MAX_BODY_BYTES = 1_000_000
_VALIDATORS = (("etag", "If-None-Match"), ("last-modified", "If-Modified-Since"))


@dataclass(frozen=True)
class Kept:
    headers: dict[str, str]
    body: bytes


class Layer:
    """What one `GitHubSession` keeps: the remembered GETs and its token's quota book.
    `credential` is the token's digest (a session has one token), never the token."""

    def __init__(self, credential: str, quota: QuotaBook | None = None) -> None:
        self.credential = credential
        self.quota = quota or QuotaBook()
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, ...], Kept] = OrderedDict()

    def send(self, cnx: Any, send: Callable[[], RequestsResponse]) -> RequestsResponse:
        path = urlsplit(cnx.url).path
        credential, resource = self.credential, resource_of(path)
        self.quota.check(credential, resource)
        key = (TEAM.get(), credential, cnx.host, str(cnx.port), cnx.url,
               cnx.headers.get("Accept", ""))
        conditional = cnx.verb == "GET" and not cnx.stream
        kept = self._get(key) if conditional else None
        if kept is not None:
            cnx.headers = {**cnx.headers, **{ask: kept.headers[have] for have, ask
                                             in _VALIDATORS if have in kept.headers}}
        response = send()
        headers = {k.lower(): v for k, v in response.headers.items()}
        resource = self.quota.record(credential, resource, response.status, headers)
        refused = self.quota.refusal(credential, resource, response.status)
        if refused is not None:
            raise refused
        if kept is not None and response.status == 304:
            return _replayed(kept, headers)
        if conditional and response.status == 200:
            self._put(key, headers, response.response.content)
        return response

    def _get(self, key: tuple[str, ...]) -> Kept | None:
        with self._lock:
            return self._kept.get(key)

    def _put(self, key: tuple[str, ...], headers: dict[str, str], body: bytes) -> None:
        if not any(have in headers for have, _ in _VALIDATORS) or len(body) > MAX_BODY_BYTES:
            return
        with self._lock:
            self._kept[key] = Kept(headers, body)
            self._kept.move_to_end(key)
            while len(self._kept) > MAX_ENTRIES:
                self._kept.popitem(last=False)


def _replayed(kept: Kept, fresh: dict[str, str]) -> RequestsResponse:
    """The remembered 200, with the 304's current rate-limit headers."""
    response = requests.Response()
    response.status_code = 200
    response._content = kept.body  # noqa: SLF001 - how a Response is built from bytes
    response.encoding = "utf-8"
    response.headers.update({**kept.headers, **{k: v for k, v in fresh.items()
                                                if k.startswith("x-ratelimit-")}})
    return RequestsResponse(response)


LAYER: ContextVar[Layer | None] = ContextVar("triage_github_layer", default=None)


def _layered(cnx: Any, send: Callable[[], RequestsResponse]) -> RequestsResponse:
    layer = LAYER.get()
    return send() if layer is None else layer.send(cnx, send)


class _HTTP(HTTPRequestsConnectionClass):
    def getresponse(self) -> RequestsResponse:
        return _layered(self, super().getresponse)


class _HTTPS(HTTPSRequestsConnectionClass):
    def getresponse(self) -> RequestsResponse:
        return _layered(self, super().getresponse)


def install() -> None:
    """Route PyGithub's requests through `Layer` (inert outside `GitHubSession.call`)."""
    Requester.injectConnectionClasses(_HTTP, _HTTPS)
