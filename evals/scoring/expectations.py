"""The case's plain expectations on the run (reply text, skill, approval, audit, policy
findings, message size). The reply ones are literal substrings, kept for cases written
before expected elements; new cases should prefer `expected_output`."""

from ..cases import Expect
from ..observe import Observation
from .check import Check, verdict


def expectations(expect: Expect, obs: Observation) -> list[Check]:
    reply = obs.reply_text
    checks: list[Check] = []
    if expect.reply_contains:
        checks += verdict("reply_contains", [f"reply lacks {s!r}" for s in expect.reply_contains
                                             if s not in reply])
    if expect.reply_not_contains:
        checks += verdict("reply_not_contains", [
            f"reply contains {s!r}" for s in expect.reply_not_contains if s in reply])
    if expect.skill is not None:
        checks += verdict("skill", [f"skill {obs.skill} != {expect.skill}"]
                          if obs.skill != expect.skill else [])
    if expect.approval_proposed is not None:
        checks += verdict("approval_proposed", _approval(expect.approval_proposed, obs))
    if expect.audit_not_contains:
        checks += verdict("audit_not_contains", [
            f"audit log contains {s!r}" for s in expect.audit_not_contains
            if s in obs.audit_text])
    if expect.policy_findings:
        checks += verdict("policy_findings", _findings(expect.policy_findings, obs))
    if expect.max_reply_chars is not None:
        checks += verdict("max_reply_chars", _longest(expect.max_reply_chars, obs))
    return checks


def _approval(expected: bool, obs: Observation) -> list[str]:
    if obs.approval_proposed == expected:
        return []
    said = "proposed" if obs.approval_proposed else "did not propose"
    return [f"the run {said} a write needing approval (expected approval_proposed={expected})"]


def _findings(wanted: list[str], obs: Observation) -> list[str]:
    got = "; ".join(obs.findings) or "none"
    return [f"no policy finding matching {w!r} (findings: {got})" for w in wanted
            if not any(w in finding for finding in obs.findings)]


def _longest(limit: int, obs: Observation) -> list[str]:
    longest = max((m["length"] for m in obs.messages), default=0)
    if longest <= limit:
        return []
    return [f"a posted message has {longest} characters (max_reply_chars={limit})"]
