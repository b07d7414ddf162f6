"""Recording GitHub repositories into the world-file format (`record.py` drives it):
commits with their files, CI runs with the failing step's log, issues with comments,
pull requests with files and merge data, and the people who appear in them.

The world format describes a run as a workflow plus an optional failure, so a recorded
run keeps its jobs' and steps' names and, when it failed, the failing step's output (the
job log between the step's header and GitHub's "Process completed with exit code"
line); logs of steps that passed are not kept. Every text goes through `scrub` first.
"""

import re
from collections.abc import Callable
from datetime import datetime
from itertools import islice
from typing import Any

import httpx
from github import Github
from github.Commit import Commit
from github.NamedUser import NamedUser
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun

Scrub = Callable[[str], str]
MEMBERS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
_STAMP = re.compile(r"^\ufeff?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?")
_EXIT = "##[error]Process completed with exit code"


def iso(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None


class People:
    """Everyone who appears, by login (their name is their login: fetching each user's
    profile would cost one request per person)."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}

    def add(self, user: NamedUser | None, fallback: str = "unknown",
            association: str | None = None) -> str:
        login = user.login if user is not None else re.sub(r"[^A-Za-z0-9-]", "-", fallback)
        entry = self.seen.setdefault(login, {"name": login,
                                             "id": user.id if user is not None else 0})
        if association is not None and association not in MEMBERS:
            entry["member"] = False
        return login


class RepoRecorder:
    def __init__(self, gh: Github, people: People, scrub: Scrub, limits: dict[str, int],
                 headers: dict[str, str]) -> None:
        self.gh, self.people, self.scrub, self.limits = gh, people, scrub, limits
        self.headers = headers  # for log downloads that stay on the API's own origin

    def record(self, full_name: str) -> dict[str, Any]:
        repo = self.gh.get_repo(full_name)
        commits = self._commits(repo)
        ids = {c["sha"]: c["id"] for c in commits}
        runs, workflow = self._runs(repo, commits)
        return {"id": repo.id, "description": self.scrub(repo.description or ""),
                "default_branch": repo.default_branch, "commits": commits,
                **({"workflow": workflow} if workflow else {}), "runs": runs,
                "issues": self._issues(repo), "pulls": self._pulls(repo, ids)}

    # -- commits -------------------------------------------------------------------------

    def _commits(self, repo: Repository) -> list[dict[str, Any]]:
        found = list(islice(repo.get_commits(sha=repo.default_branch),
                            self.limits["commits"]))
        return [self._commit(c, i) for i, c in enumerate(reversed(found))]  # oldest first

    def _commit(self, commit: Commit, index: int) -> dict[str, Any]:
        git = commit.commit
        author = self.people.add(commit.author, git.author.name if git.author else "unknown")
        files = [{"filename": f.filename, "status": f.status,
                  "patch": self.scrub(f.patch or ""),
                  **({"previous_filename": f.previous_filename}
                     if f.previous_filename else {})} for f in commit.files]
        return {"id": f"c{index}-{commit.sha[:7]}", "sha": commit.sha,
                "at": iso(git.author.date if git.author else None), "author": author,
                "message": self.scrub(git.message), "files": files}

    # -- CI --------------------------------------------------------------------------------

    def _runs(self, repo: Repository, commits: list[dict[str, Any]]
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        ids = {c["sha"]: c["id"] for c in commits}
        times = {c["sha"]: datetime.fromisoformat(c["at"].replace("Z", "+00:00"))
                 for c in commits if c["at"]}
        found = [r for r in islice(repo.get_workflow_runs(), self.limits["runs"])
                 if r.head_sha in ids]  # a run is recorded with the commit it ran on
        found.sort(key=lambda r: (r.created_at, r.run_attempt))
        jobs_seen: dict[str, dict[str, int]] = {}  # job -> step -> seconds, first seen
        runs = []
        for run in found:
            jobs = list(run.jobs())
            for job in jobs:
                steps = jobs_seen.setdefault(job.name, {})
                for step in job.steps:
                    steps.setdefault(step.name, _seconds(step.started_at, step.completed_at))
            committed = times.get(run.head_sha, run.created_at)
            after = max(0, int((run.created_at - committed).total_seconds()))
            entry: dict[str, Any] = {"commit": ids[run.head_sha], "attempt": run.run_attempt,
                                     "after": f"{after}s"}
            failure = self._failure(run, jobs)
            if failure is not None:
                entry["failure"] = failure
            runs.append(entry)
        workflow = None
        if jobs_seen:
            first = found[0]
            workflow = {"name": first.name or "CI",
                        "path": first.path or ".github/workflows/ci.yml",
                        "jobs": [{"name": job, "steps": [{"name": step, "seconds": seconds}
                                                         for step, seconds in steps.items()]}
                                 for job, steps in jobs_seen.items()]}
        return runs, workflow

    def _failure(self, run: WorkflowRun, jobs: list[Any]) -> dict[str, Any] | None:
        if run.conclusion != "failure":
            return None
        for job in jobs:
            step = next((s for s in job.steps if s.conclusion == "failure"), None)
            if step is not None:
                return {"job": job.name, "step": step.name,
                        "log": self.scrub(self._failing_output(job.logs_url()))}
        return None

    def _failing_output(self, url: str) -> str:
        resp = httpx.get(url, headers=self.headers if url.startswith(self.gh_base) else {},
                         timeout=30, follow_redirects=True)
        resp.raise_for_status()
        lines = [_STAMP.sub("", line, count=1) for line in resp.text.splitlines()]
        end = next((i for i, line in enumerate(lines) if line.startswith(_EXIT)), len(lines))
        start = max((i + 1 for i, line in enumerate(lines[:end]) if line == "##[endgroup]"),
                    default=0)
        return "\n".join(lines[start:end])

    @property
    def gh_base(self) -> str:
        return str(self.gh.requester.base_url)

    # -- issues and pull requests ------------------------------------------------------------

    def _issue(self, issue: Any) -> dict[str, Any]:
        association = issue.author_association
        entry = {"number": issue.number, "title": self.scrub(issue.title),
                 "body": self.scrub(issue.body or ""),
                 "author": self.people.add(issue.user, association=association),
                 "labels": [label.name for label in issue.labels],
                 "created": iso(issue.created_at), "updated": iso(issue.updated_at),
                 "comments": [{"author": self.people.add(
                     c.user, association=c.author_association),
                     "at": iso(c.created_at), "body": self.scrub(c.body or ""), "id": c.id}
                     for c in islice(issue.get_comments(), self.limits["comments"])]}
        if issue.closed_at is not None:
            entry["closed"] = iso(issue.closed_at)
        return entry

    def _issues(self, repo: Repository) -> list[dict[str, Any]]:
        found = islice(repo.get_issues(state="all"), self.limits["issues"])
        return [self._issue(i) for i in found if i.pull_request is None]

    def _pulls(self, repo: Repository, ids: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for pull in islice(repo.get_pulls(state="all"), self.limits["pulls"]):
            entry = self._issue(pull.as_issue())
            entry |= {"head": pull.head.ref, "base": pull.base.ref, "draft": bool(pull.draft),
                      "files": [{"filename": f.filename, "status": f.status,
                                 "patch": self.scrub(f.patch or "")}
                                for f in pull.get_files()]}
            merge = ids.get(pull.merge_commit_sha or "")
            if pull.merged_at is not None and merge is not None:
                entry |= {"merged": iso(pull.merged_at), "merge_commit": merge,
                          "merged_by": self.people.add(pull.merged_by)}
                entry.pop("closed", None)  # a merged pull request is closed when merged
            out.append(entry)
        return out


def _seconds(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 2
    return max(1, int((end - start).total_seconds()))
