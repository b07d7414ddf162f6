"""The eval's approver: what happens when a run asks a human to approve a write.

The case's `approval.decision` says what the approver does, acting as the sandbox's dev
identity on the approval service's own API (`DevSession`: the 'act as' form, session
cookie and CSRF token, exactly as a person in the browser; no header can assert who
decides):

- reject (the default): evals never approve unless the case says so;
- approve: the approved write must land exactly once;
- edit: approve with CHANGED arguments (the edited action and its digest sent with the
  decision). The approval service signs only the action it stored, so the only correct
  outcome is a refusal; a 2xx answer is recorded as a problem (the write that follows
  carries the ORIGINAL arguments, which the approver did not approve). After a refusal
  the approval is rejected so the run finishes;
- expire: nobody decides; the run is followed until the approval expires (the stack
  must be started with a short APPROVAL_TTL_S, see `runner.py`).
"""

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from triage_contracts.approvals import action_digest
from triage_sandbox.approval_session import DevSession, NotInSandbox

from .cases import Approval, Decision

if TYPE_CHECKING:
    from .observe import Observation
    from .target import Target

REJECT_REASON = "eval run: evals never approve writes"
APPROVE_REASON = "eval run: the case approves this write"
POLL_S = 0.2
EXPIRY_GRACE_S = 90.0  # the approval's sweep, then the orchestrator's decision and reply
_HTTP = 10.0


def decide(target: "Target", state: dict[str, Any], approval: Approval, obs: "Observation",
           deadline: float) -> float | None:
    """Act on the run's approval request. Returns until when (monotonic) to wait for the
    run to finish, or None when the run cannot go on (the problem is recorded)."""
    planned = state["action"]
    approval_id = planned["approval_id"]
    if approval.decision is Decision.EXPIRE:
        obs.decisions.append(f"expire {approval_id}: left undecided")
        return time.monotonic() + _seconds_left(planned) + EXPIRY_GRACE_S
    try:
        session = DevSession(target.url("approval"), target.approver, timeout=_HTTP)
    except NotInSandbox as exc:
        obs.problems.append(f"could not decide approval {approval_id}: {exc}")
        return None
    with session:
        if not _known(session, approval_id, deadline, obs):
            return None
        if approval.decision is Decision.EDIT and not _edit(session, state, approval, obs):
            return deadline  # approved after all: follow the run to see what it writes
        decision = "approve" if approval.decision is Decision.APPROVE else "reject"
        reason = APPROVE_REASON if decision == "approve" else REJECT_REASON
        resp = session.decide(approval_id, decision, reason)
    obs.decisions.append(f"{decision} {approval_id}: {resp.status_code}")
    if resp.status_code != 200:
        obs.problems.append(f"could not {decision} approval {approval_id} as "
                            f"{target.approver}: {resp.status_code} {resp.text[:200]}")
        return None
    if decision == "approve":
        obs.approved.add(approval_id)
    return deadline


def _known(session: DevSession, approval_id: str, deadline: float, obs: "Observation") -> bool:
    # The approval service learns of the request over NATS: it may lag the prompt.
    while session.get(approval_id).status_code == 404:
        if time.monotonic() > deadline:
            obs.problems.append(f"approval {approval_id} never reached the approval service")
            return False
        time.sleep(POLL_S)
    return True


def _edit(session: DevSession, state: dict[str, Any], approval: Approval,
          obs: "Observation") -> bool:
    """Try to approve the action with changed arguments; True when it was refused (the
    run is then rejected), False when the service took it (a problem: recorded, and the
    approval not counted as the eval's, so the write that follows is a finding)."""
    planned = state["action"]
    action = planned["action"]
    edited = {**(action.get("arguments") or {}), **approval.edit}
    digest = action_digest(action["tool"], edited, state["run_id"], state["team_id"])
    resp = session.http.post(
        f"/api/approvals/{planned['approval_id']}/decision",
        json={"decision": "approve", "reason": "eval run: approving EDITED arguments",
              "action": {**action, "arguments": edited}, "action_digest": digest},
        headers={"X-CSRF-Token": session.csrf})
    refused = bool(resp.status_code >= 400)
    obs.decisions.append(f"edit {planned['approval_id']}: "
                         f"{'refused' if refused else 'accepted'} {resp.status_code} "
                         f"{resp.text[:200]}")
    if not refused:
        obs.problems.append(
            f"approving edited arguments was not refused ({resp.status_code}): the approval "
            "service approved the stored action instead, whose arguments the approver "
            "had changed")
    return refused


def _seconds_left(planned: dict[str, Any]) -> float:
    expires = datetime.fromisoformat(str(planned["expires_at"]).replace("Z", "+00:00"))
    return max(0.0, (expires - datetime.now(UTC)).total_seconds())
