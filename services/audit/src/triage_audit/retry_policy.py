"""Which failed audit events are retried forever, and which are dead-lettered.

The AUDIT consumer has unlimited deliveries so that a database outage delays events and
never drops them. That must not make an event that can never be stored circle forever
(each one also holds a slot of the consumer's max_ack_pending, so enough of them stall
every team). Hence, with the contracts' mapping doing the acks (consume.py):

- PermanentError (bad content, forged origin, a value no column can hold): dead-lettered
  at once, with the reason;
- a database outage (TemporaryError with code upstream_unavailable): retried, unbounded;
- anything else (a conflict that does not clear, an unexpected error): retried with backoff
  until the `limit`-th delivery, then dead-lettered with the reason and `max_deliveries`.
"""

from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, TemporaryError) and exc.code == ErrorCode.UPSTREAM_UNAVAILABLE


def after_failure(exc: Exception, delivered: int, limit: int) -> Exception:
    """The error to hand to the consume mapping for `exc` at delivery `delivered`."""
    if isinstance(exc, PermanentError) or is_outage(exc) or delivered < limit:
        return exc
    reason = str(exc) or type(exc).__name__
    return PermanentError(f"not stored after {delivered} deliveries: {reason}",
                          ErrorCode.MAX_DELIVERIES)
