"""GitHub code search in one repository: where a string, error text or setting appears."""

from typing import Any

from triage_contracts.tools import SearchCodeArgs

from .clients.github.code import CodeClient
from .github_access import CODE_SEARCH, RepoAccess
from .registry import CallContext, Tool


class CodeTools:
    def __init__(self, client: CodeClient, access: RepoAccess) -> None:
        self.client = client
        self.access = access

    async def search_code(self, args: SearchCodeArgs, _: CallContext) -> list[Any]:
        self.access.check(args.repo)
        return await self.client.search_code(args.repo, args.query, args.limit)

    def tools(self, timeout_s: float) -> list[Tool]:
        return [Tool.of("github.search_code", self.search_code, scopes=("contents:read",),
                        timeout_s=timeout_s, rate=CODE_SEARCH, disabled=self.access.disabled())]
