"""One GitHub budget per credential, learnt from GitHub's own answers and shared by every
tool of the process (they all spend the same token's 5,000 requests an hour).

Every response's `X-RateLimit-Remaining`/`Reset`/`Resource` headers update the book; a
secondary limit's `Retry-After` blocks the credential until then. A request the book
already knows GitHub would refuse is not sent: it is answered at once with when it can
succeed again. A short wait (a secondary limit, a window about to reset) is a
`TemporaryError` with that delay, for JetStream to redeliver; a long one is a `ToolError`
the model reads ("GitHub quota exhausted until 10:32 UTC") so the run answers with what it
has instead of waiting an hour. The book is per process (replicas each learn the state from
their own next response, which GitHub refuses without spending quota).

Credentials are held as digests, never as tokens.
"""

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from triage_contracts.errors import ErrorCode, TemporaryError

from ...errors import ToolError

# Waits up to this long are temporary (redelivered later); longer ones end the call.
SHORT_WAIT_S = 60.0


@dataclass
class Budget:
    remaining: int | None = None
    reset: float = 0.0  # unix seconds when `remaining` starts over
    blocked_until: float = 0.0  # a secondary limit's Retry-After


def resource_of(path: str) -> str:
    """GitHub's rate-limit resource a request path spends (its `X-RateLimit-Resource`)."""
    if "/search/code" in path:
        return "code_search"
    if "/search/" in path:
        return "search"
    return "graphql" if path.endswith("/graphql") else "core"


class QuotaBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], Budget] = {}

    def check(self, credential: str, resource: str) -> None:
        """Raise when GitHub is known to refuse this credential's next request now."""
        with self._lock:
            budget = self._budgets.get((credential, resource))
            if budget is None:
                return
            now = time.time()
            if budget.blocked_until > now:
                raise exhausted(f"GitHub's secondary rate limit ({resource})",
                                budget.blocked_until, now)
            if budget.remaining is not None and budget.remaining <= 0 and budget.reset > now:
                raise exhausted(f"GitHub quota ({resource})", budget.reset, now)

    def record(self, credential: str, resource: str, status: int,
               headers: Mapping[str, str]) -> None:
        """Learn from one answer (`headers` with lower-case names)."""
        resource = headers.get("x-ratelimit-resource", resource)
        with self._lock:
            budget = self._budgets.setdefault((credential, resource), Budget())
            remaining, reset = headers.get("x-ratelimit-remaining"), \
                headers.get("x-ratelimit-reset")
            if remaining is not None and remaining.isdigit() and reset and reset.isdigit():
                budget.remaining, budget.reset = int(remaining), float(reset)
            retry_after = headers.get("retry-after", "")
            if status in (403, 429) and retry_after.isdigit():
                budget.blocked_until = time.time() + int(retry_after)

    def refusal(self, credential: str, resource: str, status: int) -> Exception | None:
        """GitHub's 403/429 rate-limit answer (already recorded) as the error to raise."""
        if status not in (403, 429):
            return None
        try:
            self.check(credential, resource)
        except (ToolError, TemporaryError) as exc:
            return exc
        return None


def exhausted(what: str, until: float, now: float) -> Exception:
    when = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S" if until - now < 120
                                                       else "%H:%M")
    text = f"{what} exhausted until {when} UTC"
    if until - now <= SHORT_WAIT_S:
        return TemporaryError(text, ErrorCode.UPSTREAM_UNAVAILABLE, delay=until - now)
    return ToolError(f"{text}: no GitHub data can be read before then; answer with what "
                     "you have and say what could not be checked",
                     ErrorCode.UPSTREAM_UNAVAILABLE)
