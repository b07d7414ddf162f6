"""Code search over the default branch (`GET /search/code`, with GitHub's `text_matches`
when the Accept header asks for `text-match`) and the contents API for the files it
finds. The world keeps only the default branch's head tree, so contents at any other
reference are "Not Found"."""

import base64
import re
from collections.abc import Callable
from hashlib import sha1
from typing import Any

from fastapi import APIRouter, Request, Response

from ..world.model import Repo
from . import payloads
from .paging import paged
from .refs import resolve
from .search import terms_of
from .state import GitHubError, NotFound, base, found, state

router = APIRouter()
LANGUAGES = {".py": "python", ".yml": "yaml", ".yaml": "yaml", ".md": "markdown",
             ".toml": "toml", "Dockerfile": "dockerfile"}
TEXT_MATCH = "text-match"


def blob_sha(content: str) -> str:
    data = content.encode()
    return sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def _language(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return LANGUAGES.get(name) or LANGUAGES.get("." + name.rsplit(".", 1)[-1], "")


def _qualified(repo: Repo, path: str, key: str, value: str) -> bool | None:
    name = path.rsplit("/", 1)[-1]
    checks: dict[str, Callable[[], bool]] = {
        "repo": lambda: value == repo.full_name.lower(),
        "org": lambda: value == repo.owner.lower(), "user": lambda: value == repo.owner.lower(),
        "path": lambda: path.lower().startswith(value.strip("/")) or value == "/",
        "filename": lambda: name.lower() == value,
        "extension": lambda: name.lower().endswith("." + value.lstrip(".")),
        "language": lambda: _language(path) == value,
        "in": lambda: True,
    }
    return checks[key]() if key in checks else None


def _hit(repo: Repo, path: str, content: str, terms: list[str]) -> list[str] | None:
    """The free-text terms found in the file, or None when it does not match."""
    words: list[str] = []
    in_path = "in:path" in terms
    for term in terms:
        key, _, value = term.partition(":")
        held = _qualified(repo, path, key.lower(), value.lower()) if value else None
        if held is None:
            haystack = path if in_path else content
            held = term.lower() in haystack.lower()
            words.append(term)
        if not held:
            return None
    return words


def _text_matches(url: str, content: str, words: list[str]) -> list[dict[str, Any]]:
    lines, out = content.splitlines(), []
    for word in words:
        pattern = re.compile(re.escape(word), re.IGNORECASE)
        at = next((n for n, line in enumerate(lines) if pattern.search(line)), None)
        if at is None:
            continue
        fragment = "\n".join(lines[max(0, at - 1): at + 2])
        found_at = [{"text": m.group(), "indices": [m.start(), m.end()]}
                    for m in pattern.finditer(fragment)]
        out.append({"object_url": url, "object_type": "FileContent", "property": "content",
                    "fragment": fragment, "matches": found_at})
    return out[:2]


@router.get("/search/code")
async def search_code(request: Request) -> Any:
    query = request.query_params.get("q", "").strip()
    if not query:
        raise GitHubError(422, "Validation Failed", errors=[
            {"resource": "Search", "field": "q", "code": "missing"}])
    terms, b = terms_of(query), base(request)
    highlight = TEXT_MATCH in request.headers.get("accept", "")
    items = []
    for repo in state(request).demo.repos.values():
        head = repo.commits[0].sha if repo.commits else ""
        for path, content in sorted(repo.files.items()):
            words = _hit(repo, path, content, terms)
            if words is None:
                continue
            url = f"{b}/repos/{repo.full_name}/contents/{path}?ref={head}"
            item = {"name": path.rsplit("/", 1)[-1], "path": path, "sha": blob_sha(content),
                    "url": url, "git_url": f"{b}/repos/{repo.full_name}/git/blobs/"
                    f"{blob_sha(content)}", "html_url": f"{b}/{repo.full_name}/blob/{head}/"
                    f"{path}", "repository": payloads.repo(b, repo), "score": 1.0}
            if highlight:
                item["text_matches"] = _text_matches(url, content, words)
            items.append(item)
    return paged(request, items, wrap="items")


def _entry(b: str, repo: Repo, path: str, ref: str, is_dir: bool) -> dict[str, Any]:
    api = f"{b}/repos/{repo.full_name}/contents/{path}?ref={ref}"
    html = f"{b}/{repo.full_name}/{'tree' if is_dir else 'blob'}/{ref}/{path}"
    content = "" if is_dir else repo.files[path]
    sha = sha1(f"tree:{path}".encode()).hexdigest() if is_dir else blob_sha(content)
    git = f"{b}/repos/{repo.full_name}/git/{'trees' if is_dir else 'blobs'}/{sha}"
    return {"name": path.rsplit("/", 1)[-1], "path": path, "sha": sha,
            "size": len(content.encode()), "url": api, "html_url": html, "git_url": git,
            "download_url": None if is_dir else f"{b}/_raw/{repo.full_name}/{ref}/{path}",
            "type": "dir" if is_dir else "file",
            "_links": {"self": api, "git": git, "html": html}}


@router.get("/repos/{owner}/{name}/contents/{path:path}")
async def contents(owner: str, name: str, path: str, request: Request) -> Any:
    repo, b = found(request, owner, name), base(request)
    ref = request.query_params.get("ref") or repo.default_branch
    head = resolve(repo, ref)
    if head is None or not repo.commits or head.sha != repo.commits[0].sha:
        raise NotFound()
    path = path.strip("/")
    if path in repo.files:
        data = _entry(b, repo, path, ref, is_dir=False)
        encoded = base64.b64encode(repo.files[path].encode()).decode()
        wrapped = "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n"
        return {**data, "content": wrapped, "encoding": "base64"}
    below = sorted({p[len(path) + 1 if path else 0:].split("/")[0]
                    for p in repo.files if not path or p.startswith(path + "/")})
    if not below:
        raise NotFound()
    prefix = f"{path}/" if path else ""
    return [_entry(b, repo, prefix + n, ref, is_dir=prefix + n not in repo.files)
            for n in below]


@router.get("/_raw/{owner}/{name}/{ref}/{path:path}")
async def raw(owner: str, name: str, ref: str, path: str, request: Request) -> Response:
    repo = found(request, owner, name)
    head = resolve(repo, ref)
    if head is None or head.sha != repo.commits[0].sha or path not in repo.files:
        return Response("404: Not Found", 404, headers={"content-type": "text/plain"})
    return Response(repo.files[path].encode(), headers={"content-type": "text/plain"})
