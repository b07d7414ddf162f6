"""Outputs too large for a prompt: kept whole in the `triage-outputs` object store, answered
cut, and read on page by page with the `output.page` tool.

The object's name is the handle, derived from (team, run, step), so a redelivered call gets
the same handle; the first stored output wins, so every page a run reads comes from the
same output even when a redelivery fetched different data. The stored envelope names its
team and run: `output.page` refuses a handle of another run (a model may be shown one by
a prompt injection) and never reveals what it holds.
"""

from typing import Any

from nats import errors as nats_errors
from nats.js import errors as js_errors
from nats.js.object_store import ObjectStore
from pydantic import BaseModel, ConfigDict
from triage_contracts.bus import TRANSIENT_NATS_ERRORS
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.messages import OutputPage
from triage_contracts.tools import OutputPageArgs

from .errors import ToolError
from .pages import Cut, Pager, handle_for, size
from .registry import CallContext, RateLimit, Tool

# Any failure of the store may heal (the stream is there: it is provisioned at start-up);
# retried, then answered as an error on the last delivery, so a run never hangs on it.
STORE_ERRORS: tuple[type[Exception], ...] = (*TRANSIENT_NATS_ERRORS, nats_errors.Error,
                                             js_errors.Error)


class StoredOutput(BaseModel):
    """What the object store holds under a handle: the whole output and how it was cut."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    team_id: str
    run_id: str
    step_id: str
    tool: str
    budget: int
    keep_tail: bool
    data: Any


class OutputStore:
    """The object store bucket, bound at start-up (no I/O when the app is built)."""

    def __init__(self) -> None:
        self._store: ObjectStore | None = None

    def bind(self, store: ObjectStore) -> None:
        self._store = store

    async def keep(self, handle: str, output: StoredOutput) -> StoredOutput:
        """Store `output` unless the handle already holds one; what the handle holds."""
        stored = await self.load(handle)
        if stored is not None:
            return stored
        try:
            await self._require().put(handle, output.model_dump_json().encode())
        except STORE_ERRORS as exc:
            raise TemporaryError(f"output store unavailable: {type(exc).__name__}") from exc
        return output

    async def load(self, handle: str) -> StoredOutput | None:
        try:
            found = await self._require().get(handle)
        except js_errors.ObjectNotFoundError:
            return None
        except STORE_ERRORS as exc:
            raise TemporaryError(f"output store unavailable: {type(exc).__name__}") from exc
        return StoredOutput.model_validate_json(found.data or b"{}")

    def _require(self) -> ObjectStore:
        if self._store is None:
            raise TemporaryError("output store not ready (service starting)")
        return self._store


class OutputPager:
    """Cuts outputs over the budget (`fit`) and serves their later pages (`output.page`)."""

    def __init__(self, budget: int, store: OutputStore | None = None) -> None:
        self.budget = budget
        self.store = store or OutputStore()

    async def fit(self, ctx: CallContext, tool: Tool, data: Any) -> tuple[Any, OutputPage | None]:
        """`data` itself when it fits, else its first page and where the rest is."""
        if size(data) <= self.budget:
            return data, None
        Pager(data, self.budget, tool.keep_tail)  # refuses what cannot be paged, unstored
        handle = handle_for(ctx.team_id, ctx.run_id, ctx.step_id)
        stored = await self.store.keep(handle, StoredOutput(
            team_id=ctx.team_id, run_id=ctx.run_id, step_id=ctx.step_id, tool=tool.name,
            budget=self.budget, keep_tail=tool.keep_tail, data=data))
        cut = _page(stored, handle, 1)
        return cut.data, cut.page

    async def read(self, args: OutputPageArgs, ctx: CallContext) -> Cut:
        stored = await self.store.load(args.handle)
        if stored is None:
            raise ToolError(f"no output is stored under {args.handle} (outputs are kept 7 "
                            "days; use the handle a cut result gave)", ErrorCode.NOT_FOUND)
        if (stored.team_id, stored.run_id) != (ctx.team_id, ctx.run_id):
            raise ToolError(f"{args.handle} belongs to another run: only outputs cut in "
                            "this run can be paged", ErrorCode.POLICY_DENIED)
        return _page(stored, args.handle, args.page)

    def tools(self) -> list[Tool]:
        return [Tool.of("output.page", self.read, timeout_s=10.0,
                        rate=RateLimit(per_second=20.0, burst=50))]


def _page(stored: StoredOutput, handle: str, number: int) -> Cut:
    data, page = Pager(stored.data, stored.budget, stored.keep_tail).page(number)
    return Cut(data, page.model_copy(update={"handle": handle}))
