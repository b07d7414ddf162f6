"""The Slack interaction identifiers the orchestrator writes into Block Kit and the ingress
reads back from signed interaction payloads: action ids, block ids, the reject modal's
callback id, and the modal's `private_metadata` as a model. Defined once, so the button
the orchestrator renders is the button the ingress recognises."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ActionId(StrEnum):
    APPROVE = "approval_approve"
    REJECT = "approval_reject"
    # Under an answer: was it helpful? The value is the run id; the click is audited with
    # the run (and exported as an eval candidate).
    FEEDBACK_GOOD = "feedback_good"
    FEEDBACK_BAD = "feedback_bad"


FEEDBACK_BLOCK = "feedback"


class CallbackId(StrEnum):
    REJECT_MODAL = "approval_reject"


APPROVAL_BLOCK_PREFIX = "approval:"
# The reject modal's reason input: block id and action id of the plain-text input.
REASON_BLOCK = "reject_reason"
REASON_INPUT = "reason"


def approval_block_id(approval_id: str) -> str:
    return f"{APPROVAL_BLOCK_PREFIX}{approval_id}"


class RejectModalMetadata(BaseModel):
    """What the reject modal carries in `private_metadata` back to the submission."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    approval_id: str
    response_url: str | None = None
    run_id: str | None = None
