"""The GitHub toolsets, one module per family (issues and pull requests, commits, Actions,
code search), over one client and one allow-list. Their reads share answers under the
token's digest (`shared_reads.py`); writes never do."""

from dataclasses import replace

from triage_contracts.tools import Access

from .clients.github import GitHubClient
from .github_access import RepoAccess
from .github_actions import ActionTools
from .github_code import CodeTools
from .github_commits import CommitTools
from .github_issues import IssueTools
from .registry import Tool


def github_tools(client: GitHubClient, repos: list[str], timeout_s: float) -> list[Tool]:
    access = RepoAccess(repos)
    tools = [*IssueTools(client.issues, access).tools(timeout_s),
            *CommitTools(client.commits, access).tools(timeout_s),
            *ActionTools(client.actions, access).tools(timeout_s),
            *CodeTools(client.code, access).tools(timeout_s)]
    return [replace(t, share=client.session.credential) if t.access is Access.READ else t
            for t in tools]
