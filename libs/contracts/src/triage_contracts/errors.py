"""The two kinds of failure every consumer and endpoint distinguishes.

Permanent errors are dead-lettered (or answered 4xx) with their reason; temporary errors
are retried with backoff, after `delay` seconds when the raiser knows better. Every error
that leaves a module subclasses one of the two: there is no `.temporary` flag and no
sibling class that means the same. One place maps them onto JetStream acks
(`consume.py`), one onto HTTP answers (`http.py`).
"""

from enum import StrEnum

from pydantic import ValidationError


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    INVALID_MESSAGE = "invalid_message"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    GONE = "gone"
    TOO_LARGE = "too_large"
    UNPROCESSABLE = "unprocessable"
    UNKNOWN_TOOL = "unknown_tool"
    UNKNOWN_ROUTE = "unknown_route"
    APPROVAL_MISSING = "approval_missing"
    APPROVAL_INVALID = "approval_invalid"
    # Why a signed approval grant was refused (grants.py): each is final.
    GRANT_UNKNOWN_KEY = "grant_unknown_key"
    GRANT_WRONG_TEAM = "grant_wrong_team"
    GRANT_BAD_SIGNATURE = "grant_bad_signature"
    GRANT_EXPIRED = "grant_expired"
    GRANT_OTHER_ACTION = "grant_other_action"
    POLICY_DENIED = "policy_denied"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    UPSTREAM_REJECTED = "upstream_rejected"
    BUDGET_EXCEEDED = "budget_exceeded"
    CONFLICT = "conflict"
    MAX_DELIVERIES = "max_deliveries"
    INTERNAL = "internal"


class TriageError(Exception):
    """Base of the project's own errors; `code` is machine-readable, str(e) for humans."""

    default_code = ErrorCode.INTERNAL

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code

    @property
    def reason(self) -> str:
        return str(self)


class PermanentError(TriageError):
    """Retrying cannot help: dead-letter with the reason (or answer 4xx)."""


class TemporaryError(TriageError):
    """May succeed later: retry with backoff, `delay` seconds if the caller knows better."""

    default_code = ErrorCode.UPSTREAM_UNAVAILABLE

    def __init__(
        self, message: str, code: ErrorCode | None = None, delay: float | None = None,
    ) -> None:
        super().__init__(message, code)
        self.delay = delay


def describe(
    exc: ValidationError, limit: int = 10, with_input: bool = False, root: str = "",
) -> str:
    """The one way a validation error becomes text: `where: what` for each problem.

    `with_input` adds the offending value (for a model correcting its own call); it stays
    off where the input may hold secrets or arbitrary payloads. `root` names what was
    validated (`spec` gives `spec.teamId: ...`)."""
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        where = ".".join([root, *map(str, error["loc"])] if root else map(str, error["loc"]))
        where = where or "(root)"
        given = ""
        if with_input and error["type"] != "missing" and isinstance(
                error.get("input"), str | int | float | bool):
            given = f" (got {error['input']!r})"
        parts.append(f"{where}: {error['msg']}{given}")
    return "; ".join(parts)


def first_location(exc: ValidationError) -> str:
    """The dotted location of the first problem (for short 'missing or invalid X' texts)."""
    errors = exc.errors(include_url=False)
    return ".".join(str(p) for p in errors[0]["loc"]) if errors else "(root)"
