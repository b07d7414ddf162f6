"""Executing one `ToolCall`: deciding what to run, running it, answering and recording it.

Every call ends in exactly one `ToolResult` on the run's result subject (deduplicated by
`<run>:<step>:result`, so a redelivered call never answers twice) and one TOOL_CALL audit
event; writes also get a WRITE audit event. A call that can never succeed (unknown tool,
bad arguments, a repository outside the allow-list, a 4xx) answers `error` at once, so the
run does not hang; a temporary failure is raised for JetStream to redeliver, and on the
last delivery it becomes an `error` result too. A read's output is redacted, then cut to
the prompt budget when it is longer (`outputs.py`): the result carries the first page and
the handle to read on.
"""

import time
from typing import Any

import structlog
from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import publish
from triage_contracts.errors import TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind, OutputPage, ToolCall, ToolResult, ToolStatus
from triage_contracts.redact import redact, redact_text
from triage_contracts.tools import Access, Arguments

from .answered import Answered
from .errors import ToolError
from .outputs import OutputPager
from .pages import Cut
from .registry import CallContext, Tool, ToolRegistry
from .writes import ApprovalMismatch, WriteGuard, digest_of

SERVICE = "tools"
log = get_logger("triage.tools")
Answer = tuple[ToolStatus, Any, str | None, OutputPage | None]


class ToolService:
    def __init__(self, registry: ToolRegistry, guard: WriteGuard, pager: OutputPager,
                 broker: NatsBroker, answered: Answered) -> None:
        self.registry = registry
        self.answered = answered
        self.guard = guard
        self.pager = pager
        self.broker = broker
        self.audit = AuditEmitter(broker, SERVICE)

    async def handle(self, call: ToolCall, final_attempt: bool = False) -> ToolResult:
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(
                run_id=call.run_id, team_id=call.team_id, step_id=call.step_id, tool=call.tool):
            before = await self.answered.get(call)
            if before is not None:  # redelivered after its answer went out: re-send it
                await self._publish(call, before)
                log.info("tool call answered before; result re-sent, not run again")
                return before
            try:
                status, data, error, page = await self._execute(call)
            except TemporaryError as exc:
                if not final_attempt:
                    raise
                status, data, page = ToolStatus.ERROR, None, None
                error = f"{call.tool} kept failing temporarily, giving up: {exc}"
            result = ToolResult(
                team_id=call.team_id, run_id=call.run_id, step_id=call.step_id, tool=call.tool,
                status=status, data=redact(data), error=redact_text(error) if error else None,
                duration_ms=round((time.monotonic() - started) * 1000, 1), page=page)
            await self.answered.put(call, result)  # before publishing: see answered.py
            await self._publish(call, result)
            await self._audit_call(call, result)
            log.info("tool call answered", status=status.value, ms=result.duration_ms)
            return result

    async def _publish(self, call: ToolCall, result: ToolResult) -> None:
        await publish(self.broker, result, subjects.result(call.team_id, call.run_id),
                      msg_id=f"{call.run_id}:{call.step_id}:result")

    async def _execute(self, call: ToolCall) -> Answer:
        ctx = CallContext(call.team_id, call.run_id, call.step_id)
        try:
            tool = self.registry.get(call.tool)
            self.registry.check_enabled(tool)
            args = self.registry.parse(tool, call.arguments)
            if tool.access is Access.WRITE:
                return await self._write(call, tool, args, ctx)
            return await self._read(tool, args, ctx)
        except ToolError as exc:
            return ToolStatus.ERROR, None, str(exc), None

    async def _read(self, tool: Tool, args: Arguments, ctx: CallContext) -> Answer:
        """Run a read; an output over the budget is answered cut (secrets redacted first:
        the whole is stored)."""
        status, data = await self.registry.invoke(tool, args, ctx)
        if isinstance(data, Cut):  # output.page: already a page
            return status, data.data, None, data.page
        data, page = await self.pager.fit(ctx, tool, redact(data))
        return status, data, None, page

    async def _write(self, call: ToolCall, tool: Tool, args: Arguments,
                     ctx: CallContext) -> Answer:
        if call.grant is None:
            digest = digest_of(call)
            return (ToolStatus.APPROVAL_REQUIRED, {"action_digest": digest},
                    f"{tool.name} is a write: it runs only after a human approves exactly this "
                    "action (send the ToolCall again with the approval grant)", None)
        try:
            self.guard.verify(call)
        except ApprovalMismatch as exc:
            await self._audit_write(call, "denied", {"reason": str(exc), "code": exc.code.value})
            raise
        try:
            (status, data), performed = await self.guard.perform(
                call, lambda: self.registry.invoke(tool, args, ctx))
        except ToolError as exc:
            await self._audit_write(call, "error", {"error": str(exc)})
            raise
        await self._audit_write(call, "ok" if performed else "ok_already_done",
                                {"result": data})
        return status, data, None, None

    async def _audit_call(self, call: ToolCall, result: ToolResult) -> None:
        detail = {"tool": call.tool, "arguments": call.arguments, "status": result.status.value,
                  "duration_ms": result.duration_ms, "step_id": call.step_id}
        if result.error:
            detail["error"] = result.error
        if result.page:
            detail["page"] = result.page.model_dump()
        outcome = "ok" if result.status in (ToolStatus.SUCCESS, ToolStatus.NO_DATA) \
            else result.status.value
        await self.audit.emit(call.team_id, call.run_id, AuditKind.TOOL_CALL, call.tool,
                              actor=SERVICE, outcome=outcome, detail=detail,
                              dedupe_key=f"{call.run_id}:{call.step_id}")

    async def _audit_write(self, call: ToolCall, outcome: str, extra: dict[str, Any]) -> None:
        grant = call.grant
        detail = {"tool": call.tool, "arguments": call.arguments, "step_id": call.step_id,
                  "approval_id": grant.approval_id if grant else None, **extra}
        await self.audit.emit(call.team_id, call.run_id, AuditKind.WRITE, call.tool,
                              actor=grant.approver_id if grant else "", outcome=outcome,
                              detail=detail, dedupe_key=f"{call.run_id}:{call.step_id}:write")
