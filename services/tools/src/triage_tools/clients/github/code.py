"""Code search in one repository: paths, web URLs and the matching fragments GitHub
highlights (`text-match`), which show the lines without fetching the files."""

from itertools import islice
from typing import Any

from . import shapes
from .session import GitHubSession


class CodeClient:
    def __init__(self, session: GitHubSession) -> None:
        self.session = session

    async def search_code(self, repo: str, query: str, limit: int) -> list[dict[str, Any]]:
        q = f"{query} repo:{repo}"

        def run() -> list[dict[str, Any]]:
            found = self.session.github(limit).search_code(q, highlight=True)
            return [_hit(item) for item in islice(found, limit)]

        return await self.session.call(f"search_code({q!r})", run)


def _hit(item: Any) -> dict[str, Any]:
    fragments = [shapes.excerpt(m.get("fragment"), shapes.FRAGMENT_CHARS)
                 for m in item.text_matches or []]
    return {"path": item.path, "url": item.html_url, "fragments": fragments}
