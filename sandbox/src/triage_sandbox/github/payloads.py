"""GitHub's payload shapes shared by several resource families: users, repositories,
labels, commits (list and full shape) and changed files. Every URL is absolute under
`base`, the caller's own base URL, as GitHub's are under api.github.com."""

import zlib
from hashlib import sha1
from typing import Any

from ..world.model import Commit, FileChange, Person, Repo
from .state import BOT, ts


def user(base: str, person: Person) -> dict[str, Any]:
    return {"login": person.login, "id": person.user_id, "node_id": f"U_{person.user_id}",
            "type": "Bot" if person is BOT else "User", "site_admin": False,
            "url": f"{base}/users/{person.login}", "html_url": f"{base}/{person.login}",
            "avatar_url": f"{base}/avatars/{person.login}"}


def association(person: Person) -> str:
    return "MEMBER" if person.member else "NONE"


def repo(base: str, r: Repo) -> dict[str, Any]:
    api, web = f"{base}/repos/{r.full_name}", f"{base}/{r.full_name}"
    owner = {"login": r.owner, "id": 500, "node_id": "O_500", "type": "Organization",
             "url": f"{base}/orgs/{r.owner}", "html_url": f"{base}/{r.owner}"}
    return {"id": r.repo_id, "node_id": f"R_{r.repo_id}", "name": r.name,
            "full_name": r.full_name, "private": True, "owner": owner, "html_url": web,
            "description": r.description, "fork": False, "url": api,
            "default_branch": r.default_branch, "visibility": "private", "archived": False,
            "open_issues_count": sum(i.state == "open" for i in r.issues),
            "pushed_at": ts(r.commits[0].date) if r.commits else None,
            "created_at": "2021-03-01T09:00:00Z",
            "updated_at": ts(r.commits[0].date) if r.commits else None, "language": "Python",
            "commits_url": api + "/commits{/sha}", "issues_url": api + "/issues{/number}",
            "pulls_url": api + "/pulls{/number}",
            "contents_url": api + "/contents/{+path}",
            "compare_url": api + "/compare/{base}...{head}"}


def labels(base: str, r: Repo, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"id": zlib.crc32(n.encode()) % 10**6, "node_id": f"L_{n}", "name": n,
             "url": f"{base}/repos/{r.full_name}/labels/{n}", "color": "d73a4a",
             "default": False, "description": None} for n in names]


def _short_commit(base: str, r: Repo, sha: str) -> dict[str, Any]:
    return {"sha": sha, "url": f"{base}/repos/{r.full_name}/commits/{sha}",
            "html_url": f"{base}/{r.full_name}/commit/{sha}"}


def commit(base: str, r: Repo, c: Commit, full: bool = False) -> dict[str, Any]:
    """A commit as lists show it; `full` adds `stats` and `files` (the single-commit and
    compare shapes; the caller pages `files`)."""
    api = f"{base}/repos/{r.full_name}"
    who = {"name": c.author.name, "email": c.author.email, "date": ts(c.date)}
    data: dict[str, Any] = {
        "sha": c.sha, "node_id": f"C_{c.sha[:12]}", "url": f"{api}/commits/{c.sha}",
        "html_url": f"{base}/{r.full_name}/commit/{c.sha}",
        "comments_url": f"{api}/commits/{c.sha}/comments",
        "commit": {"author": who, "committer": who, "message": c.message,
                   "url": f"{api}/git/commits/{c.sha}", "comment_count": 0,
                   "tree": {"sha": c.sha[::-1], "url": f"{api}/git/trees/{c.sha[::-1]}"},
                   "verification": {"verified": False, "reason": "unsigned",
                                    "signature": None, "payload": None,
                                    "verified_at": None}},
        "author": user(base, c.author), "committer": user(base, c.author),
        "parents": [_short_commit(base, r, c.parent)] if c.parent else [],
    }
    if full:
        adds = sum(f.additions for f in c.files)
        dels = sum(f.deletions for f in c.files)
        data["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
        data["files"] = [file(base, r, c.sha, f) for f in c.files]
    return data


def file(base: str, r: Repo, ref: str, change: FileChange) -> dict[str, Any]:
    web, api = f"{base}/{r.full_name}", f"{base}/repos/{r.full_name}"
    data: dict[str, Any] = {
        "sha": sha1(f"{ref}:{change.filename}".encode()).hexdigest(),
        "filename": change.filename, "status": change.status,
        "additions": change.additions, "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": f"{web}/blob/{ref}/{change.filename}",
        "raw_url": f"{web}/raw/{ref}/{change.filename}",
        "contents_url": f"{api}/contents/{change.filename}?ref={ref}",
        "patch": change.patch,
    }
    if change.previous_filename:
        data["previous_filename"] = change.previous_filename
    return data
