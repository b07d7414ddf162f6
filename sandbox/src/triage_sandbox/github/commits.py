"""Commits: the default branch's history with GitHub's filters (sha, path, author, since,
until), one commit with its stats and changed files (paged as GitHub pages them), and the
comparison of two references (`base...head`)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..world.model import Commit, FileChange, Repo
from . import payloads
from .paging import page_of, paged
from .refs import ancestry, compare, resolve
from .state import GitHubError, NotFound, base, found, no_commit, parse_ts

router = APIRouter()


def _touches(commit: Commit, path: str) -> bool:
    path = path.strip("/")
    return any(f.filename == path or f.filename.startswith(path + "/")
               or f.previous_filename == path for f in commit.files)


def _listed(commit: Commit, q: dict[str, str]) -> bool:
    since, until = parse_ts(q.get("since")), parse_ts(q.get("until"))
    author = q.get("author", "").lower()
    return ((not q.get("path") or _touches(commit, q["path"]))
            and (since is None or commit.date >= since)
            and (until is None or commit.date <= until)
            and author in ("", commit.author.login.lower(), commit.author.email.lower()))


@router.get("/repos/{owner}/{name}/commits")
async def list_commits(owner: str, name: str, request: Request) -> Any:
    repo, q = found(request, owner, name), dict(request.query_params)
    if not repo.commits:
        raise GitHubError(409, "Git Repository is empty.")
    start = resolve(repo, q["sha"]) if q.get("sha") else repo.commits[0]
    if start is None:
        raise no_commit(q["sha"])
    commits = [c for c in ancestry(repo, start) if _listed(c, q)]
    return paged(request, [payloads.commit(base(request), repo, c) for c in commits])


def _with_files(request: Request, body: dict[str, Any], files: list[dict[str, Any]],
                default: int) -> JSONResponse:
    """`files` paged inside a single object, as GitHub pages a big commit's files."""
    chunk, headers = page_of(request, files, default=default, most=default)
    return JSONResponse({**body, "files": chunk}, headers=headers)


@router.get("/repos/{owner}/{name}/commits/{ref:path}")
async def get_commit(owner: str, name: str, ref: str, request: Request) -> Any:
    repo = found(request, owner, name)
    commit = resolve(repo, ref)
    if commit is None:
        raise no_commit(ref)
    data = payloads.commit(base(request), repo, commit, full=True)
    return _with_files(request, data, data.pop("files"), default=300)


def _merged_files(base_url: str, repo: Repo, head: Commit,
                  commits: list[Commit]) -> list[dict[str, Any]]:
    """One entry per path changed between the two references, as a comparison shows."""
    by_path: dict[str, FileChange] = {}
    for commit in commits:
        for change in commit.files:
            before = by_path.get(change.filename)
            patch = f"{before.patch}\n{change.patch}" if before else change.patch
            status = "added" if before and before.status == "added" else change.status
            by_path[change.filename] = FileChange(change.filename, status, patch,
                                                  change.previous_filename)
    return [payloads.file(base_url, repo, head.sha, f) for f in by_path.values()]


@router.get("/repos/{owner}/{name}/compare/{spec:path}")
async def compare_refs(owner: str, name: str, spec: str, request: Request) -> Any:
    repo, b = found(request, owner, name), base(request)
    base_ref, sep, head_ref = spec.partition("...")
    if not sep:
        base_ref, sep, head_ref = spec.partition("..")
    base_c, head_c = resolve(repo, base_ref), resolve(repo, head_ref)
    if not sep or base_c is None or head_c is None:
        raise NotFound()
    status, commits, behind, merge_base = compare(repo, base_c, head_c)
    web = f"{b}/{repo.full_name}"
    body = {
        "url": f"{b}/repos/{repo.full_name}/compare/{spec}",
        "html_url": f"{web}/compare/{spec}",
        "permalink_url": f"{web}/compare/{repo.owner}:{base_c.sha[:7]}...{repo.owner}:"
                         f"{head_c.sha[:7]}",
        "diff_url": f"{web}/compare/{spec}.diff", "patch_url": f"{web}/compare/{spec}.patch",
        "base_commit": payloads.commit(b, repo, base_c),
        "merge_base_commit": payloads.commit(b, repo, merge_base),
        "status": status, "ahead_by": len(commits), "behind_by": behind,
        "total_commits": len(commits),
    }
    chunk, headers = page_of(request, [payloads.commit(b, repo, c) for c in commits],
                             default=250, most=1000)
    files = _merged_files(b, repo, head_c, commits)[:300]
    return JSONResponse({**body, "commits": chunk, "files": files}, headers=headers)
