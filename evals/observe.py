"""Watching one run to its end and collecting what it did, from three independent
witnesses: the orchestrator's run state, the audit log and Slack itself.

Evals never approve a write: when a run asks for approval, the observer records that it
asked, then REJECTS it as an approver, so the run finishes (its final reply is checked
too) and any write that happens anyway is a finding, not a side effect of the eval.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from triage_sandbox.approval_session import DevSession, NotInSandbox

from .slack_reader import Message
from .target import Sent, Target

FINISHED = frozenset({"done", "failed"})
REJECT_REASON = "eval run: evals never approve writes"
POLL_S = 0.2
_HTTP = 10.0


@dataclass
class Call:
    """One tool call of the run's trajectory, in the order the run made them."""

    tool: str
    args: dict[str, Any]
    ok: bool = True


@dataclass
class Written:
    """A write the world holds after the run (read from the GitHub stand-in's records,
    or the real API in live mode), e.g. an issue comment."""

    tool: str  # github.comment_issue, ...
    repo: str
    number: int | None
    body: str


@dataclass
class WorldAfter:
    """The world's state after the run, from the stand-ins themselves (not the services)."""

    writes: list[Written] = field(default_factory=list)  # landed in GitHub during the run
    slack_posts: list[Message] = field(default_factory=list)  # every bot post, any channel
    approvals: int = 0  # approval requests the run made (per the approval service)


@dataclass
class Observation:
    run_id: str
    channel: str  # where the question was asked
    thread_ts: str | None
    status: str | None = None
    error: str | None = None
    skill: str | None = None
    tools_called: set[str] = field(default_factory=set)
    trajectory: list[Call] = field(default_factory=list)
    evidence_text: str = ""  # every tool output the run fetched, as the tools returned it
    approval_proposed: bool = False
    findings: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)  # audit notify details
    writes: list[str] = field(default_factory=list)  # "<tool> <outcome>" of write events
    world: WorldAfter = field(default_factory=WorldAfter)
    audit_text: str = ""  # every string in the run's audit events (keys and values)
    latency_s: float | None = None  # question sent → first bot message posted
    tokens: int = 0  # prompt + completion tokens of the run's model calls
    cost_usd: float = 0.0
    model_calls: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def reply_text(self) -> str:
        return "\n".join(m["text"] for m in self.messages)


def observe(target: Target, sent: Sent, timeout: float) -> Observation:
    obs = Observation(run_id=sent.run_id, channel=sent.channel, thread_ts=sent.thread_ts)
    deadline = time.monotonic() + timeout
    state = _wait_state(target, sent, obs, deadline, _finished_or_asking)
    if state is not None and state["status"] == "waiting_approval":
        obs.approval_proposed = True
        if _reject(target, state, obs, deadline):
            state = _wait_state(target, sent, obs, deadline, _finished) or state
    if state is None:
        obs.problems.append(f"no run {sent.run_id} appeared within {timeout:.0f}s")
    elif state["status"] not in FINISHED:
        obs.problems.append(f"the run did not finish within {timeout:.0f}s "
                            f"(status {state['status']})")
    if state is not None:
        _apply_state(obs, state)
    _apply_audit(obs, _wait_audit(target, sent.run_id, deadline,
                                  finished=state is not None and state["status"] in FINISHED))
    obs.messages = target.slack.run_messages(sent.run_id, sent.channel, sent.thread_ts)
    return obs


# --- the run state ---------------------------------------------------------------------


def _finished(state: dict[str, Any]) -> bool:
    return state["status"] in FINISHED


def _finished_or_asking(state: dict[str, Any]) -> bool:
    # Asking = the approval prompt is posted: the run waits on a human from here on.
    return _finished(state) or (state["status"] == "waiting_approval"
                                and bool(state.get("prompt_ts")))


def _run_state(target: Target, run_id: str) -> dict[str, Any] | None:
    url = f"{target.url('orchestrator')}/runs/{target.team_id}/{run_id}"
    resp = httpx.get(url, timeout=_HTTP)
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    state: dict[str, Any] = resp.json()
    return state


def _wait_state(target: Target, sent: Sent, obs: Observation, deadline: float,
                done: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    state = None
    while time.monotonic() < deadline:
        state = _run_state(target, sent.run_id) or state
        if state is not None:
            if obs.latency_s is None and (state.get("posted_ts") or state.get("prompt_ts")):
                obs.latency_s = round(time.monotonic() - sent.started, 2)
            if done(state):
                return state
        time.sleep(POLL_S)
    return state


def _apply_state(obs: Observation, state: dict[str, Any]) -> None:
    obs.status, obs.error = state["status"], state.get("error")
    skill = state.get("skill")
    if skill:
        obs.skill = f"{skill['name']}@{skill['version']}"
    obs.tools_called |= {g["tool"] for g in state.get("gathered") or []}
    obs.approval_proposed |= state.get("action") is not None
    obs.findings += [f"{f['code']}: {f['message']}" for f in state.get("findings") or []]


# --- approval --------------------------------------------------------------------------


def _reject(target: Target, state: dict[str, Any], obs: Observation, deadline: float) -> bool:
    approval_id = state["action"]["approval_id"]
    # The sandbox's dev identity: evals decide as a sandbox approver (no header can).
    try:
        approver = DevSession(target.url("approval"), target.approver, timeout=_HTTP)
    except NotInSandbox as exc:
        obs.problems.append(f"could not reject approval {approval_id}: {exc}")
        return False
    with approver:
        # The approval service learns of the request over NATS: it may lag the prompt.
        while approver.get(approval_id).status_code == 404:
            if time.monotonic() > deadline:
                obs.problems.append(f"approval {approval_id} never reached the approval "
                                    "service")
                return False
            time.sleep(POLL_S)
        resp = approver.decide(approval_id, "reject", REJECT_REASON)
    if resp.status_code != 200:
        obs.problems.append(f"could not reject approval {approval_id} as {target.approver}: "
                            f"{resp.status_code} {resp.text[:200]}")
        return False
    return True


# --- the audit log ---------------------------------------------------------------------


def _audit_events(target: Target, run_id: str) -> list[dict[str, Any]]:
    url = f"{target.url('audit')}/audit/{target.team_id}/events"
    events: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        resp = httpx.get(url, params={"run_id": run_id, "limit": 1000, "after_seq": after},
                         headers=target.audit_headers, timeout=_HTTP)
        resp.raise_for_status()
        page = resp.json()
        events += page["events"]
        after = page.get("next_after_seq")
    return events


def _wait_audit(target: Target, run_id: str, deadline: float,
                finished: bool) -> list[dict[str, Any]]:
    """The run's events once the audit service has them all: the final 'run finished'
    event is there and a second read finds nothing new (notify events may lag it)."""
    events = _audit_events(target, run_id)
    while finished and time.monotonic() < deadline:
        time.sleep(POLL_S * 2)
        again = _audit_events(target, run_id)
        ended = any(e["service"] == "orchestrator" and e["action"] == "run finished"
                    for e in again)
        if ended and len(again) == len(events):
            return again
        events = again
    return events


def _strings(value: Any) -> Iterator[str]:
    """Every string inside JSON-like data, unescaped (a JSON dump would escape quotes)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _apply_audit(obs: Observation, events: list[dict[str, Any]]) -> None:
    obs.audit_text = "\n".join(_strings(events))
    for event in events:
        kind, detail = event["kind"], event.get("detail") or {}
        if kind == "tool_call" and event["service"] == "tools":
            obs.tools_called.add(event["action"])
        elif kind == "approval":
            obs.approval_proposed = True
        elif kind == "write":
            obs.writes.append(f"{event['action']} {event['outcome']}")
        elif kind == "notify":
            obs.posts.append(detail)
        elif kind == "policy":
            code = str(event["action"]).removeprefix("policy.")
            finding = f"{code}: {detail.get('message', '')}"
            if finding not in obs.findings:
                obs.findings.append(finding)
