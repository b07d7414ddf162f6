"""The two kinds of failure every consumer and endpoint distinguishes.

Permanent errors are dead-lettered (or answered 4xx) with their reason; temporary errors
are retried with backoff. One place (`consume.py`) maps them onto JetStream acks.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TOOL = "unknown_tool"
    UNKNOWN_ROUTE = "unknown_route"
    APPROVAL_MISSING = "approval_missing"
    APPROVAL_INVALID = "approval_invalid"
    POLICY_DENIED = "policy_denied"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    UPSTREAM_REJECTED = "upstream_rejected"
    BUDGET_EXCEEDED = "budget_exceeded"
    CONFLICT = "conflict"
    MAX_DELIVERIES = "max_deliveries"
    INTERNAL = "internal"


class TriageError(Exception):
    """Base of the project's own errors; `code` is machine-readable, str(e) for humans."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INTERNAL) -> None:
        super().__init__(message)
        self.code = code


class PermanentError(TriageError):
    """Retrying cannot help: dead-letter with the reason (or answer 4xx)."""


class TemporaryError(TriageError):
    """May succeed later: retry with backoff, `delay` seconds if the caller knows better."""

    def __init__(
        self,
        message: str,
        code: ErrorCode = ErrorCode.UPSTREAM_UNAVAILABLE,
        delay: float | None = None,
    ) -> None:
        super().__init__(message, code)
        self.delay = delay
