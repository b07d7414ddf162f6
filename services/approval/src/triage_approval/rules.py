"""Who may decide what, and when: pure rules with no I/O, shared by every way to decide
(web form, JSON API, Slack buttons). Each refusal is a PermanentError whose code says what
kind of refusal it is (the shared HTTP boundary turns it into the status) and whose text is
a reason a person can act on."""

from dataclasses import dataclass
from datetime import datetime

from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.http import status_of
from triage_contracts.messages import Decision

STATUS_OF = {Decision.APPROVE: "approved", Decision.REJECT: "rejected",
             Decision.EXPIRE: "expired"}
DECISION_OF = {status: decision for decision, status in STATUS_OF.items()}


class DecisionRefused(PermanentError):
    """A decision that must not be recorded, and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, self.default_code)

    @property
    def status(self) -> int:
        return status_of(self)


class NotAuthenticated(DecisionRefused):
    default_code = ErrorCode.UNAUTHENTICATED


class Forbidden(DecisionRefused):
    default_code = ErrorCode.FORBIDDEN


class NotFound(DecisionRefused):
    default_code = ErrorCode.NOT_FOUND


class AlreadyDecided(DecisionRefused):
    default_code = ErrorCode.CONFLICT


class Expired(DecisionRefused):
    default_code = ErrorCode.GONE


class Invalid(DecisionRefused):
    default_code = ErrorCode.UNPROCESSABLE


@dataclass(frozen=True)
class Pending:
    """The facts of one approval the rules look at."""

    requester_id: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    expires_at: datetime


def stamp(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "an unknown time"


def check(
    item: Pending, decider: str, decision: str, reason: str, approvers: frozenset[str],
    now: datetime,
) -> Decision:
    """The decision to record, or a DecisionRefused saying why not."""
    chosen = _parse(decision)
    if not decider:
        raise NotAuthenticated("no authenticated user: sign in first")
    withdrawing = decider == item.requester_id and chosen is Decision.REJECT
    if decider == item.requester_id and chosen is Decision.APPROVE:
        raise Forbidden("the requester cannot approve their own request")
    if not withdrawing and decider not in approvers:
        raise Forbidden(f"{decider} is not an approver for this workspace")
    check_open(item, now)
    if chosen is Decision.REJECT and not reason.strip():
        raise Invalid("a reason is required to reject")
    return chosen


def _parse(decision: str) -> Decision:
    if decision not in (Decision.APPROVE.value, Decision.REJECT.value):
        raise Invalid(f"decision must be 'approve' or 'reject', not {decision!r}")
    return Decision(decision)


def check_open(item: Pending, now: datetime) -> None:
    if item.status == "expired":
        raise Expired(f"expired at {stamp(item.expires_at)}")
    if item.status != "pending":
        raise AlreadyDecided(
            f"already {item.status} by {item.decided_by} at {stamp(item.decided_at)}")
    if item.expires_at <= now:
        raise Expired(f"expired at {stamp(item.expires_at)}")
