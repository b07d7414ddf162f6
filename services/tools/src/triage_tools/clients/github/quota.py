"""One GitHub budget per credential, learnt from GitHub's own answers and shared by every
tool of the process (they all spend the same token's 5,000 requests an hour).

Every response's `X-RateLimit-Remaining`/`Reset`/`Resource` headers update the book; a
secondary limit's `Retry-After` blocks the credential until then. A request the book
already knows GitHub would refuse is not sent: it is answered at once with when it can
succeed again. A short wait (a secondary limit, a window about to reset) is a
`TemporaryError` with that delay, for JetStream to redeliver; a long one is a `ToolError`
the model reads ("GitHub quota exhausted until 10:32 UTC") so the run answers with what it
has instead of waiting an hour. Replicas share what they learn of exhaustion through
`quota_share.py` (`on_block` announces it, `block` takes another replica's news).

Credentials are held as digests, never as tokens.
"""

import threading
import time
from collections.abc import Callable, Mapping
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


# Told (from PyGithub's worker thread) when a credential's resource is spent until a time
# (its window's reset) or blocked until a time (a secondary limit): (credential, resource,
# spent_until, blocked_until), 0.0 for neither.
Announce = Callable[[str, str, float, float], None]


class QuotaBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], Budget] = {}
        self.on_block: Announce | None = None

    def block(self, credential: str, resource: str, spent_until: float,
              blocked_until: float) -> None:
        """What another replica learnt (see `Announce`)."""
        with self._lock:
            budget = self._budgets.setdefault((credential, resource), Budget())
            if spent_until > budget.reset:
                budget.remaining, budget.reset = 0, spent_until
            budget.blocked_until = max(budget.blocked_until, blocked_until)

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
               headers: Mapping[str, str]) -> str:
        """Learn from one answer (`headers` with lower-case names); the resource it spent,
        as GitHub names it."""
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
            now = time.time()
            spent = budget.reset if budget.remaining == 0 and budget.reset > now else 0.0
            blocked = budget.blocked_until if budget.blocked_until > now else 0.0
        if (spent or blocked) and self.on_block is not None:
            self.on_block(credential, resource, spent, blocked)
        return resource

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
