"""Test "workers" that play the tools, router, notifier and approval services over the
REAL bus: they consume the real WORK / APPROVALS subjects through durable consumers and
answer on the real RESULTS subjects, exactly as the real services do."""

import asyncio
import json
from typing import Any

from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.consume import subscribe
from triage_contracts.messages import (
    ApprovalRequest,
    ModelCall,
    ModelResult,
    NotifyKind,
    NotifyRequest,
    NotifyResult,
    ProposedAction,
    RequestedToolCall,
    ToolCall,
    ToolResult,
    ToolStatus,
    Usage,
)
from triage_contracts.streams import Consumers, provision

from .factories import TOOL_DATA

DRAFT = "*Triage:* CI #57 failed on `abc1234def`; the suspect is `abc1234def` (dana)."


class Workers:
    def __init__(self, nats_url: str) -> None:
        self.broker: NatsBroker = build_broker(nats_url, "test-workers")
        self.tool_calls: list[ToolCall] = []
        self.model_calls: list[ModelCall] = []
        self.notifies: list[NotifyRequest] = []
        self.statuses: list[NotifyRequest] = []
        self.approval_requests: list[ApprovalRequest] = []
        self.actions: list[ProposedAction] = []  # what the "model" proposes
        self.hold_tools = False  # True: record tool calls, answer later (answer_held)
        self.held: list[ToolCall] = []
        self.duplicate_results = False  # publish every tool result twice (distinct ids)
        self._register()

    def _register(self) -> None:
        b = self.broker

        @subscribe(b, Consumers.TOOLS)
        async def tool(call: ToolCall) -> None:
            self.tool_calls.append(call)
            if self.hold_tools:
                self.held.append(call)
            else:
                await self.answer_tool(call)

        @subscribe(b, Consumers.ROUTER)
        async def model(call: ModelCall) -> None:
            self.model_calls.append(call)
            content, calls = self.turn(call)
            result = ModelResult(team_id=call.team_id, run_id=call.run_id, step_id=call.step_id,
                                 route=call.route, content=content, tool_calls=calls,
                                 provider="offline", model="offline-rules-1",
                                 usage=Usage(prompt_tokens=100, completion_tokens=20,
                                             cost_usd=0.0025))
            await self._result(result)

        @subscribe(b, Consumers.NOTIFIER)
        async def notify(request: NotifyRequest) -> None:
            if request.notify_kind is NotifyKind.STATUS:  # best effort: no result, as Slack's
                self.statuses.append(request)
                return
            self.notifies.append(request)
            ts = request.update_ts or f"1700000100.{len(self.notifies):06d}"
            await self._result(NotifyResult(team_id=request.team_id, run_id=request.run_id,
                                            step_id=request.step_id, ok=True,
                                            channel_id=request.channel_id, ts=ts))

        @subscribe(b, Consumers.APPROVAL_REQUESTS)
        async def approval(request: ApprovalRequest) -> None:
            self.approval_requests.append(request)

    def turn(self, call: ModelCall) -> tuple[str, list[RequestedToolCall]]:
        """A scripted model: the classify call names a skill; the first investigation turn
        asks for two reads (and the write of `self.actions`, if any); then it answers."""
        if call.route == "classify":
            return "incident", []
        if any(m.role == "tool" for m in call.messages) or call.tool_choice == "none":
            return DRAFT, []
        repo = {"repo": "demo-org/checkout-api"}
        calls = [RequestedToolCall(id=f"c{i}", name=name, arguments=json.dumps(repo))
                 for i, name in ((1, "github.workflow_runs"), (2, "github.recent_commits"))]
        calls += [RequestedToolCall(id=f"w{i}", name=a.tool, arguments=json.dumps(a.arguments))
                  for i, a in enumerate(self.actions)]
        return "", calls

    async def answer_tool(self, call: ToolCall) -> None:
        if call.tool == "github.comment_issue":
            if call.grant is None:
                status, data = ToolStatus.APPROVAL_REQUIRED, None
            else:
                status = ToolStatus.SUCCESS
                data = {"comment_id": 7001, "url": "https://gh.test/demo-org/checkout-api/"
                                                   "issues/42#issuecomment-7001"}
        else:
            status, data = ToolStatus.SUCCESS, TOOL_DATA[call.tool]
        result = ToolResult(team_id=call.team_id, run_id=call.run_id, step_id=call.step_id,
                            tool=call.tool, status=status, data=data, duration_ms=3.0)
        await self._result(result)
        if self.duplicate_results:
            await self._result(result, suffix=":again")

    async def answer_held(self) -> None:
        held, self.held = self.held, []
        for call in held:
            await self.answer_tool(call)

    async def _result(self, result: Any, suffix: str = "") -> None:
        subject = subjects.result(result.team_id, result.run_id)
        await publish(self.broker, result, subject,
                      msg_id=f"{result.run_id}:{result.step_id}:result{suffix}")

    def replies(self) -> list[NotifyRequest]:
        return [n for n in self.notifies if n.step_id == "reply"]

    async def start(self) -> "Workers":
        await self.broker.connect()
        await provision(jetstream(self.broker))
        await self.broker.start()
        return self

    async def stop(self) -> None:
        await self.broker.stop()


async def wait_until(predicate: Any, within: float = 20.0, interval: float = 0.05) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s")
