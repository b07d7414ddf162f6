"""GitHub's pagination: `per_page` (default 30, max 100) and `page` query parameters, and a
`Link` header with next/last/prev/first URLs that keep every other parameter."""

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def page_of(request: Request, items: list[Any], default: int = 30,
            most: int = 100) -> tuple[list[Any], dict[str, str]]:
    """The requested page of `items` and the `Link` header that goes with it."""
    q = request.query_params
    per_page = max(1, min(_int(q.get("per_page"), default), most))
    page = max(1, _int(q.get("page"), 1))
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]

    def link(p: int) -> str:
        params = {**dict(q), "per_page": str(per_page), "page": str(p)}
        return f"<{request.url.replace(query=urlencode(params))}>"

    rels = [(page + 1, "next"), (last, "last")] if page < last else []
    rels += [(page - 1, "prev"), (1, "first")] if page > 1 else []
    headers = {"Link": ", ".join(f'{link(p)}; rel="{r}"' for p, r in rels)} if rels else {}
    return chunk, headers


def paged(request: Request, items: list[Any], wrap: str | None = None) -> JSONResponse:
    """A list endpoint's page; `wrap` names the list in a `{"total_count", wrap: [...]}`
    body (search results and Actions lists), plain JSON array otherwise."""
    chunk, headers = page_of(request, items)
    body: Any = {"total_count": len(items), wrap: chunk} if wrap else chunk
    if wrap == "items":
        body["incomplete_results"] = False
    return JSONResponse(body, headers=headers)
