"""The typed tool registry: what the agent may call, with which arguments, under which limits.

Each tool declares a pydantic argument model (`extra="forbid"`; its JSON schema is what the
model sees), an access class (READ runs at once; WRITE only with an approval, see
`writes.py`), the scopes its credential needs, a timeout, a token-bucket rate limit (or
none, where the upstream's own quota per credential governs, as GitHub's does) and a retry
budget for temporary failures. A READ tool that names its credential's scope (`share`)
has identical calls of one team coalesced and briefly kept (`shared_reads.py`). Invalid
calls come back as errors that list exactly what to fix, so a model can correct itself on
the next turn.

A toolset whose prerequisite is missing (PROMETHEUS_URL unset, no GITHUB_REPOS...) still
registers its tools, marked `disabled` with the reason: `/tools` shows it, and a call
answers an error saying what to set, so a model stops asking for it.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from triage_contracts.errors import ErrorCode, TemporaryError, describe
from triage_contracts.logs import get_logger
from triage_contracts.messages import ToolStatus
from triage_contracts.tools import TOOLS, Access, Arguments

from .errors import ToolError
from .ratelimit import TokenBucket
from .scope import TEAM
from .shared_reads import SharedReads, key_of

log = get_logger("triage.tools.registry")
# Rate-limit waits up to this long happen in-process; longer ones go back to JetStream.
MAX_INLINE_WAIT_S = 1.0


@dataclass(frozen=True)
class CallContext:
    team_id: str
    run_id: str
    step_id: str

    @property
    def marker(self) -> str:
        """Hidden in every written text, so a write done before a crash can be found."""
        return f"<!-- triage:{self.run_id}:{self.step_id} -->"


@dataclass(frozen=True)
class RateLimit:
    per_second: float = 5.0
    burst: int = 10


Runner = Callable[[Any, CallContext], Awaitable[Any]]


def _is_empty(data: Any) -> bool:
    return data is None or data == [] or data == {}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[Arguments]
    run: Runner
    access: Access = Access.READ
    scopes: tuple[str, ...] = ()
    timeout_s: float = 20.0
    # None: no bucket of its own (the credential's quota, shared by all tools, governs).
    rate: RateLimit | None = field(default_factory=RateLimit)
    # The credential (a digest) under which identical READ calls may share one answer;
    # None: never shared.
    share: str | None = None
    retries: int = 2
    is_empty: Callable[[Any], bool] = _is_empty
    # Why the tool cannot run here (a prerequisite to set); None when it can.
    disabled: str | None = None
    # A cut output keeps its end instead of its start (a log's errors are at its end).
    keep_tail: bool = False

    @classmethod
    def of(cls, name: str, run: Runner, **limits: Any) -> "Tool":
        """The tool the contracts define under `name`, run by `run` within `limits`."""
        contract = TOOLS[name]
        return cls(contract.name, contract.description, contract.arguments, run,
                   access=contract.access, **limits)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "access": self.access.value, "scopes": list(self.scopes),
                "status": "disabled" if self.disabled else "enabled",
                "disabled_reason": self.disabled,
                "timeout_s": self.timeout_s, "parameters": self.arguments.model_json_schema(),
                "rate_limit": None if self.rate is None else {
                    "per_second": self.rate.per_second, "burst": self.rate.burst},
                "shared_reads": self.share is not None}


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = (), budget_s: float = 48.0,
                 shared: SharedReads | None = None) -> None:
        # All attempts of one call fit in this budget (below the consumer's AckWait, so
        # JetStream never hands the same call to a second worker while the first retries).
        self.budget_s = budget_s
        self.shared = shared
        self._tools: dict[str, Tool] = {}
        self._buckets: dict[str, TokenBucket] = {}
        # Tools this workspace's allow-list leaves out: refused by name, not "unknown", so
        # the model stops asking and the audit says why.
        self._withheld: set[str] = set()
        for tool in tools:
            self.add(tool)

    def withhold(self, name: str) -> None:
        self._withheld.add(name)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is registered twice")
        self._tools[tool.name] = tool
        if tool.rate is not None:
            self._buckets[tool.name] = TokenBucket(tool.rate.per_second, tool.rate.burst)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def describe(self) -> list[dict[str, Any]]:
        return [self._tools[name].describe() for name in self.names()]

    def get(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is None and name in self._withheld:
            raise ToolError(f"tool {name!r} is not enabled for this workspace (ENABLED_TOOLS, "
                            f"the Workspace's spec.tools); enabled tools: {self.names()}",
                            ErrorCode.POLICY_DENIED)
        if tool is None:
            raise ToolError(f"unknown tool {name!r}; available tools: {self.names()}",
                            ErrorCode.UNKNOWN_TOOL)
        return tool

    def parse(self, tool: Tool, arguments: dict[str, Any]) -> Arguments:
        try:
            return tool.arguments.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(_explain(tool, exc), ErrorCode.BAD_REQUEST) from exc

    @staticmethod
    def check_enabled(tool: Tool) -> None:
        if tool.disabled:
            raise ToolError(f"{tool.name} is disabled: {tool.disabled}",
                            ErrorCode.UPSTREAM_UNAVAILABLE)

    async def invoke(self, tool: Tool, args: Arguments, ctx: CallContext) -> tuple[
            ToolStatus, Any]:
        """Run one call within its rate limit, timeout and retry budget; an identical
        shareable read of the same team in flight or just done answers it instead."""
        self.check_enabled(tool)
        if self.shared is None or tool.share is None or tool.access is not Access.READ:
            return await self._invoke(tool, args, ctx)
        key = key_of(ctx.team_id, tool.share, tool.name, args.model_dump(mode="json"))
        return await self.shared.read(key, lambda: self._invoke(tool, args, ctx))

    async def _invoke(self, tool: Tool, args: Arguments, ctx: CallContext) -> tuple[
            ToolStatus, Any]:
        team = TEAM.set(ctx.team_id)  # what the connectors keep, they keep per team
        try:
            return await self._attempts(tool, args, ctx)
        finally:
            TEAM.reset(team)

    async def _attempts(self, tool: Tool, args: Arguments, ctx: CallContext) -> tuple[
            ToolStatus, Any]:
        await self._take_token(tool)
        started = time.monotonic()
        last: Exception | None = None
        for attempt in range(tool.retries + 1):
            if attempt:
                pause = min(0.2 * 2 ** (attempt - 1), 2.0)
                if time.monotonic() - started + pause + tool.timeout_s > self.budget_s:
                    break
                await asyncio.sleep(pause)
            try:
                data = await asyncio.wait_for(tool.run(args, ctx), tool.timeout_s)
            except TimeoutError as exc:
                last = TemporaryError(f"{tool.name} timed out after {tool.timeout_s}s")
                last.__cause__ = exc
            except TemporaryError as exc:
                last = exc
            else:
                return (ToolStatus.NO_DATA if tool.is_empty(data) else ToolStatus.SUCCESS), data
            log.warning("tool attempt failed", tool=tool.name, attempt=attempt + 1,
                        error=str(last))
        assert last is not None
        raise last

    async def _take_token(self, tool: Tool) -> None:
        bucket = self._buckets.get(tool.name)
        while bucket is not None and (wait := bucket.try_acquire()) > 0:
            if wait > MAX_INLINE_WAIT_S:
                raise TemporaryError(f"rate limit of {tool.name} reached "
                                     f"({bucket.rate_per_s}/s)", delay=wait)
            await asyncio.sleep(wait)


def _explain(tool: Tool, exc: ValidationError) -> str:
    accepted = ", ".join(tool.arguments.model_fields)
    return (f"invalid arguments for {tool.name}: {describe(exc, limit=20, with_input=True)}"
            f". Accepted arguments: {accepted}")
