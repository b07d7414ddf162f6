"""A GitHub-shaped REST v3 API with the demo story, for the sandbox and for tests.

It serves exactly what PyGithub requests for the tools service's connectors, in GitHub's
payload shapes (absolute `url` fields, `Link` pagination, search qualifiers, `Bad
credentials`), so the real PyGithub client runs unchanged against it. `/sandbox/*` lets
tests see what was posted and inject upstream failures; nothing here is the real GitHub.
"""

import asyncio
import shlex
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Body, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .demo_data import ORG, Comment, Demo, Issue, Person, Repo, WorkflowRun, build_demo

BOT = Person("triage-bot", "Triage Bot", 2001)
DOCS = "https://docs.github.com/rest"
JsonBody = Annotated[dict[str, Any], Body()]


class NotFound(Exception):
    """Answered as GitHub's 404 body."""


@dataclass
class Fault:
    status: int = 502
    count: int = 1
    delay_s: float = 0.0
    path: str = "/"  # prefix of the paths it applies to


@dataclass
class SandboxState:
    demo: Demo
    calls: list[dict[str, str]] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    next_comment_id: int = 910_000

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path) and fault.count > 0:
                fault.count -= 1
                return fault
        return None


def _ts(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _error(code: int, message: str, **extra: Any) -> JSONResponse:
    body = {"message": message, "documentation_url": DOCS, "status": str(code), **extra}
    return JSONResponse(body, code)


def _user(base: str, person: Person) -> dict[str, Any]:
    return {"login": person.login, "id": person.user_id, "node_id": f"U_{person.user_id}",
            "type": "Bot" if person is BOT else "User", "site_admin": False,
            "url": f"{base}/users/{person.login}", "html_url": f"{base}/{person.login}",
            "avatar_url": f"{base}/avatars/{person.login}"}


def _repo(base: str, repo: Repo) -> dict[str, Any]:
    api, web = f"{base}/repos/{repo.full_name}", f"{base}/{repo.full_name}"
    owner = {"login": ORG, "id": 500, "node_id": "O_500", "type": "Organization",
             "url": f"{base}/orgs/{ORG}", "html_url": f"{base}/{ORG}"}
    return {"id": repo.repo_id, "node_id": f"R_{repo.repo_id}", "name": repo.name,
            "full_name": repo.full_name, "private": True, "owner": owner, "html_url": web,
            "description": repo.description, "fork": False, "url": api,
            "default_branch": "main", "visibility": "private", "archived": False,
            "open_issues_count": sum(i.state == "open" for i in repo.issues),
            "pushed_at": _ts(repo.commits[0].date), "created_at": "2021-03-01T09:00:00Z",
            "updated_at": _ts(repo.commits[0].date), "language": "Python",
            "commits_url": api + "/commits{/sha}", "issues_url": api + "/issues{/number}"}


def _commit(base: str, repo: Repo, commit: Any) -> dict[str, Any]:
    api = f"{base}/repos/{repo.full_name}"
    who = {"name": commit.author.name, "email": commit.author.email, "date": _ts(commit.date)}
    return {"sha": commit.sha, "node_id": f"C_{commit.sha[:12]}",
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{base}/{repo.full_name}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "commit": {"author": who, "committer": who, "message": commit.message,
                       "url": f"{api}/git/commits/{commit.sha}", "comment_count": 0,
                       "tree": {"sha": commit.sha[::-1], "url": f"{api}/git/trees/x"}},
            "author": _user(base, commit.author), "committer": _user(base, commit.author),
            "parents": []}


def _issue(base: str, repo: Repo, issue: Issue, comments: int) -> dict[str, Any]:
    api = f"{base}/repos/{repo.full_name}/issues/{issue.number}"
    kind = "pull" if issue.is_pull_request else "issues"
    data: dict[str, Any] = {
        "id": repo.repo_id * 100_000 + issue.number, "node_id": f"I_{issue.number}",
        "url": api, "repository_url": f"{base}/repos/{repo.full_name}",
        "labels_url": api + "/labels{/name}", "comments_url": api + "/comments",
        "events_url": api + "/events", "html_url": f"{base}/{repo.full_name}/{kind}/"
        f"{issue.number}", "number": issue.number, "state": issue.state,
        "state_reason": "completed" if issue.state == "closed" else None,
        "title": issue.title, "body": issue.body, "user": _user(base, issue.author),
        "labels": [{"id": zlib.crc32(n.encode()) % 10**6, "node_id": f"L_{n}", "name": n,
                    "url": f"{base}/repos/{repo.full_name}/labels/{n}", "color": "d73a4a",
                    "default": False, "description": None} for n in issue.labels],
        "assignee": None, "assignees": [], "milestone": None, "locked": False,
        "comments": comments, "created_at": _ts(issue.created_at),
        "updated_at": _ts(issue.updated_at), "closed_at": _ts(issue.closed_at),
        "author_association": "MEMBER", "active_lock_reason": None,
    }
    if issue.is_pull_request:
        pr = f"{base}/repos/{repo.full_name}/pulls/{issue.number}"
        data["pull_request"] = {"url": pr, "html_url": data["html_url"],
                                "diff_url": data["html_url"] + ".diff",
                                "patch_url": data["html_url"] + ".patch", "merged_at": None}
        data["draft"] = False
    return data


def _run(base: str, repo: Repo, run: WorkflowRun) -> dict[str, Any]:
    api = f"{base}/repos/{repo.full_name}/actions/runs/{run.run_id}"
    commit = next(c for c in repo.commits if c.sha == run.head_sha)
    who = {"name": commit.author.name, "email": commit.author.email}
    return {"id": run.run_id, "name": run.name, "node_id": f"WFR_{run.run_id}",
            "head_branch": run.head_branch, "head_sha": run.head_sha,
            "path": ".github/workflows/ci.yml", "display_title": run.commit_message,
            "run_number": run.run_number, "run_attempt": run.run_attempt, "event": "push",
            "status": "completed", "conclusion": run.conclusion,
            "workflow_id": repo.repo_id * 10, "check_suite_id": run.run_id * 3,
            "url": api, "html_url": f"{base}/{repo.full_name}/actions/runs/{run.run_id}",
            "jobs_url": api + "/jobs", "logs_url": api + "/logs", "rerun_url": api + "/rerun",
            "cancel_url": api + "/cancel", "artifacts_url": api + "/artifacts",
            "check_suite_url": f"{base}/repos/{repo.full_name}/check-suites/{run.run_id * 3}",
            "workflow_url": f"{base}/repos/{repo.full_name}/actions/workflows/"
            f"{repo.repo_id * 10}", "pull_requests": [], "created_at": _ts(run.created_at),
            "updated_at": _ts(run.created_at), "run_started_at": _ts(run.created_at),
            "actor": _user(base, commit.author), "triggering_actor": _user(base, commit.author),
            "head_commit": {"id": commit.sha, "tree_id": commit.sha[::-1],
                            "message": commit.message, "timestamp": _ts(commit.date),
                            "author": who, "committer": who},
            "repository": _repo(base, repo), "head_repository": _repo(base, repo)}


def _comment(base: str, repo: Repo, number: int, comment: Comment) -> dict[str, Any]:
    issue = f"{base}/repos/{repo.full_name}/issues/{number}"
    return {"id": comment.comment_id, "node_id": f"IC_{comment.comment_id}",
            "url": f"{base}/repos/{repo.full_name}/issues/comments/{comment.comment_id}",
            "html_url": f"{base}/{repo.full_name}/issues/{number}#issuecomment-"
            f"{comment.comment_id}", "issue_url": issue, "body": comment.body,
            "user": _user(base, comment.author), "created_at": _ts(comment.created_at),
            "updated_at": _ts(comment.created_at), "author_association": "MEMBER"}


def _paged(request: Request, items: list[Any], wrap: str | None = None) -> JSONResponse:
    """One page of `items` with GitHub's Link header (per_page default 30, max 100)."""
    q = request.query_params
    per_page = max(1, min(int(q.get("per_page", 30)), 100))
    page = max(1, int(q.get("page", 1)))
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]

    def link(p: int) -> str:
        params = {**dict(q), "per_page": str(per_page), "page": str(p)}
        return f"<{str(request.url.replace(query=urlencode(params)))}>"

    rels = [(page + 1, "next"), (last, "last")] if page < last else []
    rels += [(page - 1, "prev"), (1, "first")] if page > 1 else []
    headers = {"Link": ", ".join(f'{link(p)}; rel="{r}"' for p, r in rels)} if rels else {}
    body: Any = {"total_count": len(items), wrap: chunk} if wrap else chunk
    if wrap == "items":
        body["incomplete_results"] = False
    return JSONResponse(body, headers=headers)


def _matches(repo: Repo, issue: Issue, terms: list[str]) -> bool:
    text = f"{issue.title} {issue.body}".lower()
    for term in terms:
        key, _, value = term.partition(":")
        value = value.lower()
        if key == "repo" and value:
            ok = value == repo.full_name.lower()
        elif key in ("is", "state", "type") and value in ("open", "closed"):
            ok = issue.state == value
        elif key in ("is", "type") and value in ("pr", "pull-request"):
            ok = issue.is_pull_request
        elif key in ("is", "type") and value == "issue":
            ok = not issue.is_pull_request
        elif key == "label" and value:
            ok = value in (n.lower() for n in issue.labels)
        else:
            ok = term.lower() in text
        if not ok:
            return False
    return True


def build_github_api(token: str | None = None, demo: Demo | None = None) -> FastAPI:
    state = SandboxState(demo or build_demo())
    app = FastAPI(title="SANDBOX GitHub REST API (not the real GitHub)")
    app.state.sandbox = state

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if path.startswith("/sandbox"):
            return await call_next(request)  # type: ignore[no-any-return]
        state.calls.append({"method": request.method, "path": path,
                            "query": request.url.query})
        fault = state.take_fault(path)
        if fault is not None:
            await asyncio.sleep(fault.delay_s)
            if fault.status >= 400:
                return _error(fault.status, "Server Error (sandbox fault)")
        auth = request.headers.get("authorization", "")
        if token and auth not in (f"token {token}", f"Bearer {token}"):
            return _error(401, "Bad credentials")
        response: Response = await call_next(request)
        response.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        response.headers["X-RateLimit-Limit"] = "5000"
        response.headers["X-RateLimit-Remaining"] = "4999"
        return response

    @app.exception_handler(NotFound)
    async def not_found(_: Request, __: NotFound) -> JSONResponse:
        return _error(404, "Not Found")

    def found(owner: str, name: str, number: int | None = None) -> Repo:
        repo = state.demo.repo(owner, name)
        if repo is None or (number is not None and repo.issue(number) is None):
            raise NotFound()
        return repo

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @app.get("/repos/{owner}/{name}")
    async def get_repo(owner: str, name: str, request: Request) -> Any:
        return _repo(base(request), found(owner, name))

    @app.get("/repos/{owner}/{name}/commits")
    async def list_commits(owner: str, name: str, request: Request) -> Any:
        repo = found(owner, name)
        return _paged(request, [_commit(base(request), repo, c) for c in repo.commits])

    @app.get("/repos/{owner}/{name}/actions/runs")
    async def list_runs(owner: str, name: str, request: Request) -> Any:
        repo, q = found(owner, name), request.query_params
        runs = [r for r in repo.runs if q.get("branch", r.head_branch) == r.head_branch
                and q.get("head_sha", r.head_sha) == r.head_sha]
        items = [_run(base(request), repo, r) for r in runs]
        return _paged(request, items, wrap="workflow_runs")

    @app.get("/repos/{owner}/{name}/issues/{number}")
    async def get_issue(owner: str, name: str, number: int, request: Request) -> Any:
        repo = found(owner, name, number)
        issue = repo.issue(number)
        assert issue is not None  # found() checked it
        return _issue(base(request), repo, issue, len(repo.comments.get(number, [])))

    @app.get("/repos/{owner}/{name}/issues/{number}/comments")
    async def list_comments(owner: str, name: str, number: int, request: Request) -> Any:
        repo = found(owner, name, number)
        items = [_comment(base(request), repo, number, c)
                 for c in repo.comments.get(number, [])]
        return _paged(request, items)

    @app.post("/repos/{owner}/{name}/issues/{number}/comments", status_code=201)
    async def create_comment(owner: str, name: str, number: int, request: Request,
                             payload: JsonBody) -> Any:
        repo = found(owner, name, number)
        text = payload.get("body")
        if not isinstance(text, str) or not text.strip():
            return _error(422, "Validation Failed", errors=[
                {"resource": "IssueComment", "field": "body", "code": "missing_field"}])
        state.next_comment_id += 1
        comment = Comment(state.next_comment_id, text, BOT, datetime.now(state.demo.now.tzinfo))
        repo.comments.setdefault(number, []).append(comment)
        data = _comment(base(request), repo, number, comment)
        state.posted.append({"repo": repo.full_name, "issue_number": number, **data})
        return JSONResponse(data, status_code=201)

    @app.get("/search/issues")
    async def search_issues(request: Request) -> Any:
        query = request.query_params.get("q", "").strip()
        if not query:
            return _error(422, "Validation Failed", errors=[
                {"resource": "Search", "field": "q", "code": "missing"}])
        try:
            terms = shlex.split(query)
        except ValueError:
            terms = query.split()
        hits = [(repo, i) for repo in state.demo.repos.values() for i in repo.issues
                if _matches(repo, i, terms)]
        hits.sort(key=lambda hit: hit[1].updated_at, reverse=True)
        items = [{**_issue(base(request), repo, i, len(repo.comments.get(i.number, []))),
                  "score": 1.0} for repo, i in hits]
        return _paged(request, items, wrap="items")

    @app.get("/sandbox/comments")
    async def sandbox_comments() -> list[dict[str, Any]]:
        return state.posted

    @app.get("/sandbox/calls")
    async def sandbox_calls() -> list[dict[str, str]]:
        return state.calls

    @app.post("/sandbox/faults")
    async def sandbox_faults(fault: JsonBody) -> dict[str, int]:
        state.faults.append(Fault(**fault))
        return {"faults": len(state.faults)}

    return app
