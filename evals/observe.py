"""Watching one run to its end and collecting what it did, from three independent
witnesses: the orchestrator's run state, the audit log and Slack itself.

When a run asks for approval, the observer records that it asked, then decides as the
case says (`approve.py`): REJECT unless the case is an approve-path case, so the run
finishes (its final reply is checked too) and any write the eval did not approve is a
finding, not a side effect of the eval. The trial-wide witnesses (what GitHub holds
after the trial, every bot post in any channel) are read by `collect_world`.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from triage_sandbox.approval_session import DevSession, NotInSandbox

from .approve import POLL_S, decide
from .cases import Approval
from .slack_reader import Message
from .target import Sent, Target

FINISHED = frozenset({"done", "failed"})
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
    posted_ts: str | None = None  # the run's answer (a command's follow-ups thread on it)
    tokens: int = 0  # prompt + completion tokens of the run's model calls
    cost_usd: float = 0.0
    model_calls: int = 0
    problems: list[str] = field(default_factory=list)
    # What the eval's approver did ("approve <id>: 200", "edit <id>: refused 422 ...").
    decisions: list[str] = field(default_factory=list)
    approved: set[str] = field(default_factory=set)  # approval ids the eval approved

    @property
    def reply_text(self) -> str:
        return "\n".join(m["text"] for m in self.messages)


def observe(target: Target, sent: Sent, timeout: float,
            approval: Approval | None = None) -> Observation:
    """Follow one run to its end. When it asks for approval, the eval's approver acts as
    `approval.decision` says (reject unless the case says otherwise; `approve.py`)."""
    obs = Observation(run_id=sent.run_id, channel=sent.channel, thread_ts=sent.thread_ts)
    deadline = time.monotonic() + timeout
    state = _wait_state(target, sent, obs, deadline, _finished_or_asking)
    if state is not None and state["status"] == "waiting_approval":
        obs.approval_proposed = True
        waited = decide(target, state, approval or Approval(), obs, deadline)
        if waited is not None:
            deadline = max(deadline, waited)  # an expiring approval takes its time
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
    obs.posted_ts = state.get("posted_ts")
    skill = state.get("skill")
    if skill:
        obs.skill = f"{skill['name']}@{skill['version']}"
    obs.approval_proposed |= state.get("action") is not None
    obs.findings += [f"{f['code']}: {f['message']}" for f in state.get("findings") or []]
    inv = state.get("investigation") or {}
    # Every call the model (or the skill's prefetch) asked for, writes queued for approval
    # and invalid calls included: what the agent TRIED, in order.
    obs.trajectory = [Call(c["tool"], dict(c.get("arguments") or {}), c.get("status") == "done")
                      for c in inv.get("calls") or []]
    obs.tools_called |= {c.tool for c in obs.trajectory}
    obs.evidence_text = "\n".join(_evidence(state, inv))
    obs.tokens = int(inv.get("tokens") or 0)
    obs.cost_usd = float(state.get("cost_usd") or 0.0)
    obs.model_calls = int((state.get("counters") or {}).get("model_calls") or 0)


def _evidence(state: dict[str, Any], inv: dict[str, Any]) -> Iterator[str]:
    """What the run fetched, as the model read it: the tool messages of the conversation
    (and any not yet in it), the evidence the run kept (titles, links, facts), and what its
    approved writes answered."""
    for message in inv.get("messages") or []:
        if message.get("role") == "tool" and message.get("content"):
            yield str(message["content"])
    for call in inv.get("calls") or []:
        if call.get("content"):
            yield str(call["content"])
    for item in state.get("evidence") or []:
        yield from _strings({k: v for k, v in item.items() if k != "source"})
    # What an approved write answered (the new comment's link is the answer's to cite).
    for outcome in state.get("write_results") or []:
        if outcome.get("ok"):
            yield from _strings({k: v for k, v in outcome.items() if k in ("url", "data")})


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
            _add_executed(obs, event["action"], detail)
        elif kind == "approval":
            obs.approval_proposed = True
        elif kind == "write":
            _add_write(obs, event, detail)
        elif kind == "notify":
            obs.posts.append(detail)
        elif kind == "policy":
            code = str(event["action"]).removeprefix("policy.")
            finding = f"{code}: {detail.get('message', '')}"
            if finding not in obs.findings:
                obs.findings.append(finding)


def _add_executed(obs: Observation, tool: str, detail: dict[str, Any]) -> None:
    """A call the tools service ran that the run state does not list (the act step's
    approved write; a state the runner could not read): the audit witnesses it."""
    args = dict(detail.get("arguments") or {})
    if not any(c.tool == tool and c.args == args for c in obs.trajectory):
        obs.trajectory.append(Call(tool, args, detail.get("status") in ("success", "no_data")))


# --- the trial: several runs (follow-ups), the world after them -------------------------


@dataclass(frozen=True)
class Marks:
    """Where the witnesses stood when the trial began (they only ever append)."""

    slack: int
    comments: int


def marks(target: Target) -> Marks:
    return Marks(slack=target.slack.mark(), comments=len(_stand_in_comments(target) or []))


def _stand_in_comments(target: Target) -> list[dict[str, Any]] | None:
    if target.mode != "mock" or "github" not in target.urls:
        return None  # real GitHub: the audit's write events are the witness
    resp = httpx.get(target.url("github") + "/sandbox/comments", timeout=_HTTP)
    resp.raise_for_status()
    comments: list[dict[str, Any]] = resp.json()
    return comments


def combine(runs: list[Observation]) -> Observation:
    """One observation for a trial of several runs (the question, then each follow-up):
    the LAST run's answer, state and trajectory (expectations judge it), with what any
    run did that matters for the whole trial: problems, unapproved writes, posts,
    audit text, evidence (an answer may cite what an earlier run fetched) and usage."""
    last = runs[-1]
    if len(runs) == 1:
        return last
    earlier = runs[:-1]
    last.problems = [p for o in runs for p in o.problems]
    last.writes = [w for o in runs for w in o.writes]
    last.posts = [p for o in runs for p in o.posts]
    last.decisions = [d for o in runs for d in o.decisions]
    last.approved = {a for o in runs for a in o.approved}
    last.audit_text = "\n".join(o.audit_text for o in runs)
    last.evidence_text = "\n".join(o.evidence_text for o in runs)
    last.findings = list(dict.fromkeys(f for o in runs for f in o.findings))
    last.approval_proposed = any(o.approval_proposed for o in runs)
    last.tokens = sum(o.tokens for o in runs)
    last.cost_usd = round(sum(o.cost_usd for o in runs), 6)
    last.model_calls = sum(o.model_calls for o in runs)
    last.world.writes = [w for o in earlier for w in o.world.writes] + last.world.writes
    return last


def collect_world(target: Target, obs: Observation, since: Marks, run_ids: list[str]
                  ) -> None:
    """The world after the trial, from the stand-ins themselves: what GitHub holds that
    the trial wrote, every bot post in any channel, the approvals the runs asked for."""
    comments = _stand_in_comments(target)
    if comments is not None:
        obs.world.writes = [Written("github.comment_issue", str(c.get("repo", "")),
                                    c.get("issue_number"), str(c.get("body", "")))
                            for c in comments[since.comments:]]
    posts = target.slack.posts_since(since.slack)
    obs.world.slack_posts = posts or list(obs.messages)
    obs.world.approvals = _approvals(target, run_ids, obs)


def _approvals(target: Target, run_ids: list[str], obs: Observation) -> int:
    """Approval requests of the trial's runs, per the approval service (sandbox); else
    per the runs' own state."""
    try:
        with DevSession(target.url("approval"), target.approver, timeout=_HTTP) as session:
            return sum(a["run_id"] in run_ids for a in session.approvals())
    except NotInSandbox:
        return int(obs.approval_proposed)


def _add_write(obs: Observation, event: dict[str, Any], detail: dict[str, Any]) -> None:
    args = detail.get("arguments") or {}
    if event["outcome"] in ("ok", "ok_already_done"):
        # The audit's account of what landed; a GitHub stand-in's own records replace it.
        obs.world.writes.append(Written(event["action"], str(args.get("repo", "")),
                                        args.get("issue_number"), str(args.get("body", ""))))
    if detail.get("approval_id") not in obs.approved:
        # A write the eval approved is the approve path working; any other one is not.
        obs.writes.append(f"{event['action']} {event['outcome']}")
