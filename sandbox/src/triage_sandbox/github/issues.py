"""Issues (pull requests included, as GitHub lists them), their comments, posting a
comment (the one write the sandbox accepts) and issue search."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from ..world.model import Comment, Issue, Repo
from . import payloads
from .paging import paged
from .search import matches, terms_of
from .state import BOT, GitHubError, base, caller, found, parse_ts, state, ts

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]
# Sort keys of an issue and its comment count, by GitHub's `sort` parameter.
_SORTS: dict[str, Callable[[Issue, int], datetime | int]] = {
    "created": lambda i, n: i.created_at, "updated": lambda i, n: i.updated_at,
    "comments": lambda i, n: n}


def issue_payload(b: str, repo: Repo, issue: Issue) -> dict[str, Any]:
    api = f"{b}/repos/{repo.full_name}/issues/{issue.number}"
    kind = "pull" if issue.is_pull_request else "issues"
    html = f"{b}/{repo.full_name}/{kind}/{issue.number}"
    data: dict[str, Any] = {
        "id": repo.repo_id * 100_000 + issue.number, "node_id": f"I_{issue.number}",
        "url": api, "repository_url": f"{b}/repos/{repo.full_name}",
        "labels_url": api + "/labels{/name}", "comments_url": api + "/comments",
        "events_url": api + "/events", "html_url": html, "number": issue.number,
        "state": issue.state,
        "state_reason": "completed" if issue.state == "closed" else None,
        "title": issue.title, "body": issue.body, "user": payloads.user(b, issue.author),
        "labels": payloads.labels(b, repo, issue.labels),
        "assignee": None, "assignees": [], "milestone": None, "locked": False,
        "comments": len(repo.comments.get(issue.number, [])),
        "created_at": ts(issue.created_at), "updated_at": ts(issue.updated_at),
        "closed_at": ts(issue.closed_at),
        "author_association": payloads.association(issue.author),
        "active_lock_reason": None,
    }
    if issue.is_pull_request:
        pull = repo.pulls.get(issue.number)
        data["pull_request"] = {
            "url": f"{b}/repos/{repo.full_name}/pulls/{issue.number}", "html_url": html,
            "diff_url": html + ".diff", "patch_url": html + ".patch",
            "merged_at": ts(pull.merged_at) if pull else None}
        data["draft"] = pull.draft if pull else False
    return data


def comment_payload(b: str, repo: Repo, number: int, comment: Comment) -> dict[str, Any]:
    issue = f"{b}/repos/{repo.full_name}/issues/{number}"
    return {"id": comment.comment_id, "node_id": f"IC_{comment.comment_id}",
            "url": f"{b}/repos/{repo.full_name}/issues/comments/{comment.comment_id}",
            "html_url": f"{b}/{repo.full_name}/issues/{number}#issuecomment-"
            f"{comment.comment_id}", "issue_url": issue, "body": comment.body,
            "user": payloads.user(b, comment.author), "created_at": ts(comment.created_at),
            "updated_at": ts(comment.created_at),
            "author_association": payloads.association(comment.author)}


def _listed(repo: Repo, issue: Issue, q: dict[str, str]) -> bool:
    wanted = q.get("state", "open")
    since = parse_ts(q.get("since"))
    labels = {n.strip().lower() for n in q.get("labels", "").split(",") if n.strip()}
    return ((wanted == "all" or issue.state == wanted)
            and labels <= {n.lower() for n in issue.labels}
            and (since is None or issue.updated_at >= since)
            and q.get("creator", issue.author.login).lower() == issue.author.login.lower())


def _sorted(repo: Repo, issues: list[Issue], sort: str, direction: str) -> list[Issue]:
    key = _SORTS.get(sort, _SORTS["created"])
    return sorted(issues, key=lambda i: key(i, len(repo.comments.get(i.number, []))),
                  reverse=direction != "asc")


@router.get("/repos/{owner}/{name}/issues")
async def list_issues(owner: str, name: str, request: Request) -> Any:
    repo, q = found(request, owner, name), dict(request.query_params)
    issues = [i for i in repo.issues if _listed(repo, i, q)]
    issues = _sorted(repo, issues, q.get("sort", "created"), q.get("direction", "desc"))
    return paged(request, [issue_payload(base(request), repo, i) for i in issues])


@router.get("/repos/{owner}/{name}/issues/{number}")
async def get_issue(owner: str, name: str, number: int, request: Request) -> Any:
    repo = found(request, owner, name, number)
    issue = repo.issue(number)
    assert issue is not None  # found() checked it
    return issue_payload(base(request), repo, issue)


@router.get("/repos/{owner}/{name}/issues/{number}/comments")
async def list_comments(owner: str, name: str, number: int, request: Request) -> Any:
    repo = found(request, owner, name, number)
    since = parse_ts(request.query_params.get("since"))
    items = [comment_payload(base(request), repo, number, c)
             for c in repo.comments.get(number, []) if since is None or c.created_at >= since]
    return paged(request, items)


@router.post("/repos/{owner}/{name}/issues/{number}/comments", status_code=201)
async def create_comment(owner: str, name: str, number: int, request: Request,
                         payload: JsonBody) -> Any:
    repo, sandbox = found(request, owner, name, number), state(request)
    text = payload.get("body")
    if not isinstance(text, str) or not text.strip():
        raise GitHubError(422, "Validation Failed", errors=[
            {"resource": "IssueComment", "field": "body", "code": "missing_field"}])
    sandbox.next_comment_id += 1
    # Authored by whoever's token posted it: the bot, or another commenter in tests.
    comment = Comment(sandbox.next_comment_id, text, caller(request) or BOT,
                      sandbox.demo.current().replace(microsecond=0))
    repo.comments.setdefault(number, []).append(comment)
    data = comment_payload(base(request), repo, number, comment)
    sandbox.posted.append({"repo": repo.full_name, "issue_number": number, **data})
    return JSONResponse(data, status_code=201)


@router.get("/search/issues")
async def search_issues(request: Request) -> Any:
    query = request.query_params.get("q", "").strip()
    if not query:
        raise GitHubError(422, "Validation Failed", errors=[
            {"resource": "Search", "field": "q", "code": "missing"}])
    terms, world = terms_of(query), state(request).demo
    hits = [(repo, i) for repo in world.repos.values() for i in repo.issues
            if matches(repo, i, repo.comments.get(i.number, []), terms)]
    sort, order = request.query_params.get("sort"), request.query_params.get("order")
    key = _SORTS.get(sort or "updated", _SORTS["updated"])
    hits.sort(key=lambda h: key(h[1], len(h[0].comments.get(h[1].number, []))),
              reverse=order != "asc")
    items = [{**issue_payload(base(request), repo, i), "score": 1.0} for repo, i in hits]
    return paged(request, items, wrap="items")
