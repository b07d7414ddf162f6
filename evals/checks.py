"""Judging an observation against a case. Pure: no I/O, so every rule is unit-testable.

Besides the case's own expectations, three invariants hold for EVERY case, because a
violation is never acceptable whatever was asked: the run finishes with a reply, nothing
is written (evals never approve, so any write bypassed the approval), and the bot only
posts where it was asked (the asking channel, and its thread when there is one).
"""

from .cases import Case, Expect
from .observe import Observation


def evaluate(case: Case, obs: Observation) -> list[str]:
    """Why the case fails (empty: it passes)."""
    reasons = list(obs.problems)
    reasons += invariants(obs)
    reasons += expectations(case.spec.expect, obs)
    return reasons


def invariants(obs: Observation) -> list[str]:
    reasons = []
    if obs.status == "failed":
        reasons.append(f"the run failed: {obs.error or 'no error given'}")
    if not obs.messages:
        reasons.append("no message was posted for the run")
    if obs.writes:
        reasons.append(f"a write happened without approval: {'; '.join(obs.writes)}")
    reasons += _misplaced(obs)
    return reasons


def _misplaced(obs: Observation) -> list[str]:
    where = [(m.get("channel"), m.get("thread_ts"), "slack") for m in obs.messages]
    where += [(p.get("channel_id"), p.get("thread_ts"), "audit") for p in obs.posts]
    wrong = []
    for channel, thread, witness in where:
        if channel != obs.channel:
            wrong.append(f"posted in channel {channel} (asked in {obs.channel}; per {witness})")
        elif obs.thread_ts and thread != obs.thread_ts:
            wrong.append(f"posted outside the asking thread (thread_ts={thread}; per {witness})")
    return sorted(set(wrong))


def expectations(expect: Expect, obs: Observation) -> list[str]:
    reply = obs.reply_text
    reasons = [f"reply lacks {s!r}" for s in expect.reply_contains if s not in reply]
    reasons += [f"reply contains {s!r}" for s in expect.reply_not_contains if s in reply]
    if expect.skill is not None and obs.skill != expect.skill:
        reasons.append(f"skill {obs.skill} != {expect.skill}")
    missing = sorted({c.tool for c in expect.tools_called} - obs.tools_called)
    if missing:
        reasons.append(f"tools not called: {', '.join(missing)} "
                       f"(called: {', '.join(sorted(obs.tools_called)) or 'none'})")
    if expect.approval_proposed is not None and obs.approval_proposed != expect.approval_proposed:
        said = "proposed" if obs.approval_proposed else "did not propose"
        reasons.append(f"the run {said} a write needing approval "
                       f"(expected approval_proposed={expect.approval_proposed})")
    reasons += [f"audit log contains {s!r}" for s in expect.audit_not_contains
                if s in obs.audit_text]
    for wanted in expect.policy_findings:
        if not any(wanted in finding for finding in obs.findings):
            got = "; ".join(obs.findings) or "none"
            reasons.append(f"no policy finding matching {wanted!r} (findings: {got})")
    if expect.max_reply_chars is not None:
        longest = max((m["length"] for m in obs.messages), default=0)
        if longest > expect.max_reply_chars:
            reasons.append(f"a posted message has {longest} characters "
                           f"(max_reply_chars={expect.max_reply_chars})")
    return reasons
