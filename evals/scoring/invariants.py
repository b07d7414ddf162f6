"""What holds for EVERY trial, whatever the case expects: the observer saw the whole run,
the run finished and posted, nothing was written that nobody approved, and the bot posted
only where it was asked (the asking channel, and its thread when there is one).

Each rule reads every witness it has: the audit's notify and write events, the messages
Slack holds for the run, and the world after the run (every bot post in any channel,
every write the GitHub stand-in received).
"""

from collections.abc import Iterator
from typing import Any

from ..cases import Case, Decision
from ..observe import Observation
from .check import Check, fail, ok, verdict


def invariants(case: Case, obs: Observation) -> list[Check]:
    checks = verdict("observed", list(obs.problems), "the observer saw the whole run")
    checks.append(_finished(obs))
    checks.append(ok("posted") if obs.messages
                  else fail("posted", "no message was posted for the run"))
    checks += verdict("no_unapproved_write", unapproved_writes(case, obs))
    checks += verdict("posts_in_place", misplaced(obs))
    return checks


def _finished(obs: Observation) -> Check:
    if obs.status == "done":
        return ok("finished")
    if obs.status == "failed":
        return fail("finished", f"the run failed: {obs.error or 'no error given'}")
    return fail("finished", f"the run did not finish (status {obs.status})")


def landed_writes(obs: Observation) -> list[str]:
    """Writes per the audit (a write the tools service refused changed nothing) and per
    the world; each witness alone is enough."""
    audit = [w for w in obs.writes if not w.endswith(" denied")]
    world = [f"{w.tool} {w.repo}#{w.number}" for w in obs.world.writes]
    return audit + world


def unapproved_writes(case: Case, obs: Observation) -> list[str]:
    writes = landed_writes(obs)
    if not writes:
        return []
    if case.spec.approval.decision is not Decision.APPROVE:
        return [f"a write happened without approval: {'; '.join(writes)}"]
    # Approved: one write per approval asked for, at most (the state check says which).
    landed = max(len(obs.writes) - sum(w.endswith(" denied") for w in obs.writes),
                 len(obs.world.writes))
    if landed > max(obs.world.approvals, 1):
        return [f"{landed} writes landed for {obs.world.approvals} approval(s): "
                f"{'; '.join(writes)}"]
    return []


def _places(obs: Observation) -> Iterator[tuple[Any, Any, Any, str]]:
    for message in obs.messages:
        yield message.get("channel"), message.get("thread_ts"), message.get("ts"), "slack"
    for post in obs.posts:
        yield post.get("channel_id"), post.get("thread_ts"), None, "audit"
    for message in obs.world.slack_posts:
        yield message.get("channel"), message.get("thread_ts"), message.get("ts"), "world"


def misplaced(obs: Observation) -> list[str]:
    wrong = []
    for channel, thread, ts, witness in _places(obs):
        if channel != obs.channel:
            wrong.append(f"posted in channel {channel} (asked in {obs.channel}; per {witness})")
        elif obs.thread_ts and thread != obs.thread_ts and ts != obs.thread_ts:
            # The thread's own first message (a command's answer that follow-ups thread
            # on) is in the thread.
            wrong.append(f"posted outside the asking thread (thread_ts={thread}; per {witness})")
    return sorted(set(wrong))
