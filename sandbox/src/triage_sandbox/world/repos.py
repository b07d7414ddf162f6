"""Building one repository of a world: its linear default branch, CI runs, issues and
pull requests (a pull request is also an issue, with the same number, as on GitHub)."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from hashlib import sha1

from . import ci
from .clock import Clock, span
from .model import (
    Comment,
    Commit,
    FileChange,
    Issue,
    Job,
    Person,
    PullRequest,
    Repo,
    WorkflowRun,
)
from .schema import CommitSpec, FileSpec, IssueSpec, PullSpec, RepoSpec, RunSpec


def _sha(*parts: str) -> str:
    return sha1("\x1f".join(parts).encode()).hexdigest()


def _patch(text: str) -> str:
    """GitHub's `patch` text: no final newline, blank context lines as one space (YAML
    block scalars drop that space, so it is put back)."""
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    return "\n".join(line or " " for line in lines)


def _files(specs: list[FileSpec]) -> tuple[FileChange, ...]:
    return tuple(FileChange(f.filename, f.status, _patch(f.patch), f.previous_filename)
                 for f in specs)


def _commit_sha(repo: str, spec: CommitSpec, clock: Clock) -> str:
    if spec.sha:
        return spec.sha
    if spec.at[0] == "-":  # "-6h" -> "6": the demo's SHAs were made from hours ago
        hours = (clock.now - clock.at(spec.at)) / timedelta(hours=1)
        return _sha(repo, spec.message, format(hours, "g"))
    return _sha(repo, spec.message, spec.at)


def _person(people: dict[str, Person], login: str) -> Person:
    if login not in people:
        raise KeyError(f"unknown person {login!r} (add them under `people:`)")
    return people[login]


def _commits(name: str, spec: RepoSpec, people: dict[str, Person],
             clock: Clock) -> dict[str, Commit]:
    """Commits by id, oldest first; each one's parent is the one before it."""
    out: dict[str, Commit] = {}
    parent: str | None = None
    for c in spec.commits:
        if c.id in out:
            raise ValueError(f"{name}: commit id {c.id!r} is used twice")
        sha = _commit_sha(name, c, clock)
        out[c.id] = Commit(sha, c.message, _person(people, c.author), clock.at(c.at),
                           _files(c.files), parent)
        parent = sha
    return out


def _runs(name: str, spec: RepoSpec, repo_id: int,
          commits: dict[str, Commit]) -> list[WorkflowRun]:
    runs: list[WorkflowRun] = []
    numbers: dict[str, int] = {}
    for r in spec.runs:
        commit = _commit(name, commits, r.commit)
        number = _run_number(r, numbers, max(numbers.values(), default=0) + 1)
        run_id = repo_id * 1000 + number + 500 * (r.attempt - 1)
        created = commit.date + span(r.after)
        jobs = _jobs(spec, r, run_id, created)
        failed = r.failure is not None or any(j.conclusion == "failure" for j in jobs)
        workflow = spec.workflow
        runs.append(WorkflowRun(
            run_id, number, commit.sha, spec.default_branch,
            "failure" if failed else "success", created, commit.message.splitlines()[0],
            run_attempt=r.attempt, name=workflow.name if workflow else "CI",
            path=workflow.path if workflow else ".github/workflows/ci.yml", jobs=jobs))
    return sorted(runs, key=lambda run: run.created_at, reverse=True)


def _run_number(run: RunSpec, numbers: dict[str, int], next_number: int) -> int:
    if run.attempt > 1:
        if run.commit not in numbers:
            raise ValueError(f"run attempt {run.attempt} of {run.commit!r} has no attempt 1")
        return numbers[run.commit]
    numbers[run.commit] = next_number
    return next_number


def _jobs(spec: RepoSpec, run: RunSpec, run_id: int, created: datetime) -> tuple[Job, ...]:
    if spec.workflow is None:
        if run.failure is not None:
            raise ValueError("a run names a failure but the repository has no workflow")
        return ()
    if run.failure is not None:
        ci.check_failure(spec.workflow.jobs, run.failure)
    return tuple(ci.build_job(job, run_id * 10 + i, created, run.failure)
                 for i, job in enumerate(spec.workflow.jobs, start=1))


def _commit(repo: str, commits: dict[str, Commit], ref: str) -> Commit:
    if ref not in commits:
        raise KeyError(f"{repo}: no commit with id {ref!r}")
    return commits[ref]


def _issue(spec: IssueSpec, people: dict[str, Person], clock: Clock, is_pr: bool,
           merged: datetime | None = None) -> Issue:
    """The issue side; a merged pull request is closed when it was merged."""
    created, closed = clock.at(spec.created), clock.maybe(spec.closed) or merged
    moments = [created, closed, *(clock.at(c.at) for c in spec.comments)]
    updated = clock.maybe(spec.updated) or max(m for m in moments if m is not None)
    return Issue(spec.number, spec.title, spec.body, "closed" if closed else "open",
                 _person(people, spec.author), tuple(spec.labels), created, updated, closed,
                 is_pull_request=is_pr)


def _comments(spec: IssueSpec, people: dict[str, Person], clock: Clock,
              ids: Iterator[int]) -> list[Comment]:
    return [Comment(c.id if c.id is not None else next(ids), c.body,
                    _person(people, c.author), clock.at(c.at)) for c in spec.comments]


def _pull(repo: str, spec: PullSpec, people: dict[str, Person], clock: Clock,
          commits: dict[str, Commit]) -> tuple[PullRequest, Commit]:
    """The pull request and its head branch's commit (one per pull request here): for a
    merged one, the commit before GitHub rebased it onto the base branch."""
    merged, merge = clock.maybe(spec.merged), None
    if spec.merge_commit is not None:
        merge = _commit(repo, commits, spec.merge_commit)
    if (merged is None) != (merge is None):
        raise ValueError(f"{repo}#{spec.number}: give both `merged` and `merge_commit`")
    files = _files(spec.files) if spec.files is not None else (merge.files if merge else ())
    author = _person(people, spec.author)
    pushed = clock.maybe(spec.updated) if merge is None else None
    head = Commit(_sha(repo, f"pull/{spec.number}/head"),
                  merge.message if merge else spec.title, author,
                  merge.date if merge else pushed or clock.at(spec.created), files,
                  _main_head(commits, clock.at(spec.created)))
    base = merge.parent if merge else _main_head(commits, head.date)
    return PullRequest(
        spec.number, spec.head, head.sha, spec.base, base or _sha(repo, "root"), files,
        merged, _person(people, spec.merged_by) if spec.merged_by else None,
        merge.sha if merge else _sha(repo, f"pull/{spec.number}/merge"), spec.draft), head


def _main_head(commits: dict[str, Commit], at: datetime) -> str | None:
    """The default branch's head commit at a time."""
    before = [c for c in commits.values() if c.date <= at]
    return max(before, key=lambda c: c.date).sha if before else None


def build_repo(org: str, name: str, spec: RepoSpec, people: dict[str, Person],
               clock: Clock, comment_ids: Iterator[int]) -> Repo:
    commits = _commits(name, spec, people, clock)
    numbers = [i.number for i in spec.issues] + [p.number for p in spec.pulls]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"{name}: an issue or pull request number is used twice")
    built = {p.number: _pull(name, p, people, clock, commits) for p in spec.pulls}
    pulls = {number: pull for number, (pull, _) in built.items()}
    issues = [_issue(i, people, clock, False) for i in spec.issues]
    issues += [_issue(p, people, clock, True, pulls[p.number].merged_at)
               for p in spec.pulls]
    comments = {i.number: _comments(i, people, clock, comment_ids)
                for i in [*spec.issues, *spec.pulls] if i.comments}
    return Repo(
        name=name, repo_id=spec.id, description=spec.description,
        commits=list(reversed(commits.values())),
        runs=_runs(name, spec, spec.id, commits),
        issues=sorted(issues, key=lambda i: i.number, reverse=True), comments=comments,
        owner=org, pulls=pulls, files=dict(spec.files), default_branch=spec.default_branch,
        heads={pull.head_ref: head for pull, head in built.values()})
