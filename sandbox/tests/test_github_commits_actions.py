"""The GitHub stand-in's commits, comparisons, Actions jobs and logs, and code search
through the REAL PyGithub client over real HTTP, in the default demo world. Job logs are
fetched as a tool would: PyGithub's `logs_url()` (GitHub's 302), then a plain download."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from github import Auth, Github, GithubException
from github.Repository import Repository
from triage_sandbox.demo_data import BAD_COMMIT_MESSAGE, build_demo
from triage_sandbox.github_api import build_github_api

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TOKEN = "ghp_SandboxTokenForTests0123456789"
Serve = Callable[[FastAPI], AbstractContextManager[str]]


@pytest.fixture
def gh(serve: Serve) -> Iterator[Github]:
    with serve(build_github_api(token=TOKEN, demo=build_demo(NOW))) as url:
        client = Github(auth=Auth.Token(TOKEN), base_url=url, retry=None,
                        seconds_between_requests=0)
        yield client
        client.close()


@pytest.fixture
def checkout(gh: Github) -> Repository:
    return gh.get_repo("demo-org/checkout-api")


def test_commits_filter_by_path_time_sha_and_author(checkout: Repository) -> None:
    head = checkout.get_commits()[0]
    totals = checkout.get_commits(path="src/cart/totals.py")
    assert [c.commit.message for c in totals] == [
        "Fix rounding of discounts in cart totals", "Cache cart totals for 30 seconds"]
    window = checkout.get_commits(since=NOW - timedelta(hours=31),
                                  until=NOW - timedelta(hours=13))
    assert len(list(window)) == 3
    older = checkout.get_commits(sha=head.sha[:7] + "~2")
    assert [c.commit.message for c in older][:1] == ["Add p99 latency alert for checkout"]
    assert [c.author.login for c in checkout.get_commits(author="erik-platform")] == [
        "erik-platform"]
    assert checkout.get_commits(path="src/payments").totalCount == 1


def test_a_commit_has_stats_files_and_parents(checkout: Repository) -> None:
    bad = checkout.get_commit("main")
    assert bad.commit.message.startswith(BAD_COMMIT_MESSAGE)
    assert (bad.stats.additions, bad.stats.deletions, bad.stats.total) == (14, 15, 29)
    assert [(f.filename, f.additions, f.deletions) for f in bad.files] == [
        ("src/payments/client.py", 11, 9), ("src/payments/retry.py", 3, 6)]
    [parent] = bad.parents
    assert parent.sha == checkout.get_commits()[1].sha
    assert checkout.get_commit(bad.sha[:7]).sha == bad.sha
    with pytest.raises(GithubException) as unknown:
        checkout.get_commit("0000000deadbeef")
    assert unknown.value.status == 422
    assert unknown.value.data["message"] == "No commit found for SHA: 0000000deadbeef"


def test_compare_two_references(checkout: Repository) -> None:
    shas = [c.sha for c in checkout.get_commits()]  # newest first
    ahead = checkout.compare(shas[3], "main")
    assert (ahead.status, ahead.ahead_by, ahead.behind_by) == ("ahead", 3, 0)
    assert [c.sha for c in ahead.commits] == list(reversed(shas[:3]))  # oldest first
    assert {f.filename for f in ahead.files} == {
        "deploy/alerts/checkout.rules.yml", "src/cart/totals.py", "src/payments/client.py",
        "src/payments/retry.py"}
    assert ahead.merge_base_commit.sha == shas[3]
    behind = checkout.compare("main", "main~2")
    assert (behind.status, behind.ahead_by, behind.behind_by) == ("behind", 0, 2)
    assert checkout.compare("main", shas[0]).status == "identical"
    branch = checkout.compare("main", "bob/breaker-metrics")  # the open PR #41
    assert (branch.status, branch.ahead_by) == ("diverged", 1)
    assert [f.filename for f in branch.files] == ["src/payments/metrics.py"]


def test_ci_run_jobs_and_steps(checkout: Repository) -> None:
    latest = checkout.get_workflow_runs()[0]
    run = checkout.get_workflow_run(latest.id)
    assert (run.conclusion, run.run_number, run.run_attempt) == ("failure", 6, 2)
    jobs = {j.name: j for j in run.jobs()}
    assert {n: j.conclusion for n, j in jobs.items()} == {"lint": "success",
                                                          "test": "failure"}
    steps = {s.name: s.conclusion for s in jobs["test"].steps}
    assert steps["Run pytest"] == "failure"
    assert steps["Post Run actions/checkout@v4"] == "success"  # post-steps always run
    assert checkout.get_workflow_job(jobs["test"].id).run_id == run.id
    green = checkout.get_workflow_run(checkout.get_workflow_runs()[2].id)
    assert {j.conclusion for j in green.jobs()} == {"success"}


def test_a_failed_jobs_log_is_a_302_then_a_plain_download(checkout: Repository) -> None:
    run = checkout.get_workflow_runs()[0]
    job = next(j for j in run.jobs() if j.name == "test")
    location = job.logs_url()  # PyGithub reads GitHub's 302 Location header
    assert "/job-logs.txt?" in location and "sig=" in location and "se=" in location
    log = httpx.get(location)  # no token: the URL is pre-signed, as GitHub's are
    assert log.status_code == 200 and log.headers["content-type"] == "text/plain"
    text = log.content.decode("utf-8")
    assert text.startswith("\ufeff")  # GitHub's logs begin with a BOM
    stamped = [line.split(" ", 1) for line in text.removeprefix("\ufeff").splitlines()]
    assert all(datetime.fromisoformat(at[:26] + "Z") for at, _ in stamped)
    lines = [rest for _, rest in stamped]
    start = lines.index("##[group]Run pytest -q --tb=short")
    end = lines.index("##[error]Process completed with exit code 1.")
    tail = lines[start:end][-8:]  # what a tool shows of the failed step
    assert "src/payments/client.py:36: in _with_retries" in tail
    assert "E   TimeoutError: payment client retry budget exhausted" in lines[start:end]
    assert tail[-1] == "2 failed, 212 passed in 41.27s"
    tampered = httpx.get(location.replace("sig=", "sig=x"))
    assert tampered.status_code == 403 and "AuthenticationFailed" in tampered.text
    followed = httpx.get(f"{job.url}/logs", follow_redirects=True,  # an httpx-only tool
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert followed.status_code == 200 and followed.content == log.content


def test_code_search_with_text_matches(gh: Github) -> None:
    found = gh.search_code("retry budget exhausted repo:demo-org/checkout-api",
                           highlight=True)
    assert [f.path for f in found] == ["src/payments/client.py"]
    item = found[0]
    assert item.repository.full_name == "demo-org/checkout-api"
    assert item.html_url.endswith("/blob/" + gh.get_repo("demo-org/checkout-api")
                                  .get_commits()[0].sha + "/src/payments/client.py")
    [match, *_] = item.text_matches
    assert match["object_type"] == "FileContent" and match["property"] == "content"
    text = match["matches"][0]
    assert match["fragment"][slice(*text["indices"])].lower() == text["text"].lower()
    assert b'raise TimeoutError("payment client retry budget exhausted")' in \
        item.decoded_content  # followed to the contents API
    plain = gh.search_code("retry budget exhausted repo:demo-org/checkout-api")
    assert "text_matches" not in plain[0].raw_data


@pytest.mark.parametrize(("query", "paths"), [
    ("_lock repo:demo-org/checkout-api", ["src/cart/totals.py"]),
    ("httpx repo:demo-org/payments-api extension:toml", ["pyproject.toml"]),
    ("HighLatencyP99 path:deploy", ["deploy/alerts/checkout.rules.yml"]),
    ("POOL_SIZE language:python", ["src/payments/client.py"]),
    ("nothing-like-this", []),
])
def test_code_search_qualifiers(gh: Github, query: str, paths: list[str]) -> None:
    assert [f.path for f in gh.search_code(query)] == paths


def test_contents_of_the_default_branch(checkout: Repository) -> None:
    listing = {c.path: c.type for c in checkout.get_contents("src/payments")}
    assert listing == {"src/payments/client.py": "file", "src/payments/retry.py": "file"}
    retry = checkout.get_contents("src/payments/retry.py")
    assert b"budget_s: float = 2.0" in retry.decoded_content
    assert httpx.get(retry.download_url).text == retry.decoded_content.decode()
    with pytest.raises(GithubException) as old:
        checkout.get_contents("src/payments/retry.py", ref="main~1")
    assert old.value.status == 404  # the world keeps only the head tree
