"""Judging a fault run from records only: the events the ingress acknowledged, the
messages the Slack stand-in holds, the comments the GitHub stand-in holds, the runs whose
write was approved, and the audit service's verification and timelines. Pure: values in,
a `Verdict` out.

Invariants: every acknowledged event has a reply in its thread, an answer or a message
telling the asker the run failed (the orchestrator's "I could not finish ..."; a run with
neither is stuck), no thread
holds the same bot message twice, no comment marker (run and step) appears twice at
GitHub, every approved write landed and nothing was written unapproved, the audit chain
verifies and holds every run. Per fault: the runs it affected (asked while it was in
effect, or still unanswered when it began) and the time from its end until the last of
them was answered."""

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .load import Sent
from .schedule import Fault

MARKER = re.compile(r"<!-- triage:(?P<run>[^:]+):(?P<step>[^ ]+) -->")
# How the orchestrator tells the asker a run failed (render.partial_answer, _fallback).
FAILED = re.compile(r"I could not finish the (investigation|triage)")


@dataclass
class Records:
    sent: list[Sent]
    messages: list[dict[str, Any]]  # the Slack stand-in's
    comments: list[dict[str, Any]]  # the GitHub stand-in's
    approved_runs: set[str]
    audit_ok: bool
    audited_runs: set[str]
    faults: list[Fault]


@dataclass
class FaultRow:
    name: str
    target: str
    seconds: float
    affected: int
    answered: int  # a reply of any kind: failed_with_message of them told of a failure
    failed_with_message: int
    recovery_s: float | None  # None: nothing affected, or not all answered
    error: str = ""


@dataclass
class Verdict:
    acked: int
    unacked: int
    answered: int  # with an answer, not a failure message
    failed_with_message: list[str]
    stuck: list[str]
    duplicate_replies: int
    duplicate_writes: int
    missing_writes: int
    unapproved_writes: int
    audit_ok: bool
    unaudited: list[str]
    median_reply_s: float | None
    faults: list[FaultRow] = field(default_factory=list)

    @property
    def invariants(self) -> list[tuple[str, str, bool]]:
        return [
            ("every acknowledged event answered or failed with a message (0 stuck)",
             f"{self.answered} answered, {len(self.failed_with_message)} failed with a "
             f"message, {len(self.stuck)} stuck", not self.stuck),
            ("0 duplicate Slack replies", str(self.duplicate_replies),
             self.duplicate_replies == 0),
            ("0 duplicate GitHub writes", str(self.duplicate_writes), self.duplicate_writes == 0),
            ("every approved write landed, none unapproved",
             f"{self.missing_writes} missing, {self.unapproved_writes} unapproved",
             self.missing_writes == 0 and self.unapproved_writes == 0),
            ("audit chain verifies", "ok" if self.audit_ok else "FAILED", self.audit_ok),
            ("every run in the audit log", f"{len(self.unaudited)} missing", not self.unaudited),
        ]

    @property
    def held(self) -> bool:
        return all(ok for _, _, ok in self.invariants)


def first_reply_at(sent: Sent, threads: dict[str, list[dict[str, Any]]]) -> float | None:
    times = [float(m["ts"]) for m in threads.get(sent.thread_ts, [])]
    return min(times) if times else None


def judge(records: Records) -> Verdict:
    acked = [s for s in records.sent if s.acked]
    threads: dict[str, list[dict[str, Any]]] = {}
    for message in records.messages:
        if message.get("thread_ts"):
            threads.setdefault(str(message["thread_ts"]), []).append(message)
    replied = {s.run_id: first_reply_at(s, threads) for s in acked}
    latencies = [at - s.at for s in acked if (at := replied[s.run_id]) is not None]
    markers = Counter((m["run"], m["step"]) for c in records.comments
                      for m in MARKER.finditer(str(c.get("body", ""))))
    written = {run for run, _ in markers}
    failed = {s.run_id for s in acked if _told_failure(threads.get(s.thread_ts, []))}
    return Verdict(
        acked=len(acked), unacked=len(records.sent) - len(acked),
        answered=sum(1 for r, at in replied.items() if at is not None and r not in failed),
        failed_with_message=sorted(failed),
        stuck=[s.run_id for s in acked if replied[s.run_id] is None],
        duplicate_replies=sum(_duplicates(threads.get(s.thread_ts, [])) for s in acked),
        duplicate_writes=sum(n - 1 for n in markers.values()),
        missing_writes=len(records.approved_runs - written),
        unapproved_writes=len(written - records.approved_runs),
        audit_ok=records.audit_ok,
        unaudited=[s.run_id for s in acked if s.run_id not in records.audited_runs],
        median_reply_s=statistics.median(latencies) if latencies else None,
        faults=[_fault_row(f, acked, replied, failed) for f in records.faults],
    )


def _told_failure(thread: list[dict[str, Any]]) -> bool:
    return any(FAILED.search(f"{m.get('text')} {m.get('blocks')!r}") for m in thread)


def _duplicates(thread: list[dict[str, Any]]) -> int:
    """Bot messages posted more than once in one thread (same text and blocks)."""
    seen = Counter((str(m.get("text")), repr(m.get("blocks"))) for m in thread)
    return sum(n - 1 for n in seen.values())


def _fault_row(fault: Fault, acked: list[Sent], replied: dict[str, float | None],
               failed: set[str]) -> FaultRow:
    affected = [s for s in acked if s.at <= fault.ended and (
        s.at >= fault.began or (replied[s.run_id] or float("inf")) > fault.began)]
    answered = [at for s in affected if (at := replied[s.run_id]) is not None]
    recovery = (max(0.0, max(answered) - fault.ended)
                if answered and len(answered) == len(affected) else None)
    told = sum(1 for s in affected if s.run_id in failed)
    return FaultRow(fault.name, fault.target, fault.ended - fault.began, len(affected),
                    len(answered), told, recovery, fault.error)
