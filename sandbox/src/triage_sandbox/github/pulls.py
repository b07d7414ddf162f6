"""Pull requests: lists (the short shape), one pull request (with merge data and line
counts), its changed files, and the pull requests that contain a commit."""

from typing import Any

from fastapi import APIRouter, Request

from ..world.model import PullRequest, Repo
from . import payloads
from .paging import paged
from .refs import resolve
from .state import NotFound, base, found, no_commit, ts

router = APIRouter()


def _part(b: str, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    org = {"login": repo.owner, "id": 500, "node_id": "O_500", "type": "Organization",
           "url": f"{b}/orgs/{repo.owner}", "html_url": f"{b}/{repo.owner}"}
    return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha, "user": org,
            "repo": payloads.repo(b, repo)}


def _links(api: str, html: str, issue: str, statuses: str) -> dict[str, Any]:
    hrefs = {"self": api, "html": html, "issue": issue, "comments": issue + "/comments",
             "review_comments": api + "/comments", "commits": api + "/commits",
             "review_comment": api.rsplit("/", 1)[0] + "/comments{/number}",
             "statuses": statuses}
    return {k: {"href": v} for k, v in hrefs.items()}


def pull_payload(b: str, repo: Repo, pull: PullRequest, full: bool = False) -> dict[str, Any]:
    """GitHub's pull request: the list shape, or with `full` the single-PR shape."""
    issue = repo.issue(pull.number)
    assert issue is not None  # the world builds both sides
    api = f"{b}/repos/{repo.full_name}/pulls/{pull.number}"
    html = f"{b}/{repo.full_name}/pull/{pull.number}"
    issue_api = f"{b}/repos/{repo.full_name}/issues/{pull.number}"
    statuses = f"{b}/repos/{repo.full_name}/statuses/{pull.head_sha}"
    data: dict[str, Any] = {
        "url": api, "id": repo.repo_id * 1_000_000 + pull.number,
        "node_id": f"PR_{repo.repo_id}_{pull.number}", "html_url": html,
        "diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue_api,
        "commits_url": api + "/commits", "review_comments_url": api + "/comments",
        "review_comment_url": f"{b}/repos/{repo.full_name}/pulls/comments{{/number}}",
        "comments_url": issue_api + "/comments", "statuses_url": statuses,
        "number": pull.number, "state": issue.state, "locked": False, "title": issue.title,
        "user": payloads.user(b, issue.author), "body": issue.body,
        "labels": payloads.labels(b, repo, issue.labels), "milestone": None,
        "active_lock_reason": None, "created_at": ts(issue.created_at),
        "updated_at": ts(issue.updated_at), "closed_at": ts(issue.closed_at),
        "merged_at": ts(pull.merged_at), "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": _part(b, repo, pull.head_ref, pull.head_sha),
        "base": _part(b, repo, pull.base_ref, pull.base_sha),
        "_links": _links(api, html, issue_api, statuses),
        "author_association": payloads.association(issue.author), "auto_merge": None,
        "draft": pull.draft,
    }
    return {**data, **_details(b, repo, pull, issue.state == "open")} if full else data


def _details(b: str, repo: Repo, pull: PullRequest, open_: bool) -> dict[str, Any]:
    merged = pull.merged_at is not None
    return {
        "merged": merged, "mergeable": True if open_ else None, "rebaseable": open_ or None,
        "mergeable_state": "clean" if open_ else "unknown",
        "merged_by": payloads.user(b, pull.merged_by) if pull.merged_by else None,
        "comments": len(repo.comments.get(pull.number, [])), "review_comments": 0,
        "maintainer_can_modify": False, "commits": 1,
        "additions": sum(f.additions for f in pull.files),
        "deletions": sum(f.deletions for f in pull.files), "changed_files": len(pull.files),
    }


def _listed(repo: Repo, pull: PullRequest, q: dict[str, str]) -> bool:
    issue = repo.issue(pull.number)
    wanted = q.get("state", "open")
    head = q.get("head", f"{repo.owner}:{pull.head_ref}")
    return (issue is not None and (wanted == "all" or issue.state == wanted)
            and q.get("base", pull.base_ref) == pull.base_ref
            and head in (f"{repo.owner}:{pull.head_ref}", pull.head_ref))


@router.get("/repos/{owner}/{name}/pulls")
async def list_pulls(owner: str, name: str, request: Request) -> Any:
    repo, q = found(request, owner, name), dict(request.query_params)
    pulls = [p for p in repo.pulls.values() if _listed(repo, p, q)]
    sort = q.get("sort", "created")

    def key(p: PullRequest) -> Any:
        issue = repo.issue(p.number)
        assert issue is not None
        return issue.updated_at if sort in ("updated", "long-running") else issue.created_at

    pulls.sort(key=key, reverse=q.get("direction", "desc") != "asc")
    return paged(request, [pull_payload(base(request), repo, p) for p in pulls])


@router.get("/repos/{owner}/{name}/pulls/{number}")
async def get_pull(owner: str, name: str, number: int, request: Request) -> Any:
    repo = found(request, owner, name)
    if number not in repo.pulls:
        raise NotFound()
    return pull_payload(base(request), repo, repo.pulls[number], full=True)


@router.get("/repos/{owner}/{name}/pulls/{number}/files")
async def pull_files(owner: str, name: str, number: int, request: Request) -> Any:
    repo = found(request, owner, name)
    if number not in repo.pulls:
        raise NotFound()
    pull = repo.pulls[number]
    return paged(request, [payloads.file(base(request), repo, pull.head_sha, f)
                           for f in pull.files])


# Registered before the commits router's `/commits/{ref:path}`, which would take it.
@router.get("/repos/{owner}/{name}/commits/{ref:path}/pulls")
async def commit_pulls(owner: str, name: str, ref: str, request: Request) -> Any:
    repo = found(request, owner, name)
    commit = resolve(repo, ref)
    if commit is None:
        raise no_commit(ref)
    pulls = [p for p in repo.pulls.values()
             if commit.sha in (p.merge_commit_sha if p.merged_at else None, p.head_sha)]
    pulls.sort(key=lambda p: p.number, reverse=True)
    return paged(request, [pull_payload(base(request), repo, p) for p in pulls])
