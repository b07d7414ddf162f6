"""The abuse matrix's bookkeeping: every attempt names what it tries, the status a correct
service answers, and what came back; the test asserts all of them were refused that way
and prints the tally (the figures docs/security-approvals.md quotes)."""

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

Check = Callable[[httpx.Response], bool]


@dataclass(frozen=True)
class Attempt:
    row: str  # the matrix row: no identity, forged token, wrong team, ...
    name: str
    expected: int  # 200 only for a listing, with a check that it shows nothing it must not
    got: int
    ok: bool


@dataclass
class Matrix:
    attempts: list[Attempt] = field(default_factory=list)

    async def expect(self, row: str, name: str, expected: int,
                     send: Awaitable[httpx.Response], check: Check | None = None) -> None:
        resp = await send
        ok = resp.status_code == expected and (check is None or check(resp))
        self.attempts.append(Attempt(row, name, expected, resp.status_code, ok))

    def report(self) -> str:
        by_status = Counter(a.expected for a in self.attempts)
        rows = Counter(a.row for a in self.attempts)
        refused = sum(a.ok for a in self.attempts)
        lines = [f"abuse matrix: {len(self.attempts)} attempts, {refused} refused as expected",
                 "  by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())),
                 "  by row: " + ", ".join(f"{r}: {n}" for r, n in rows.items())]
        lines += [f"  NOT REFUSED AS EXPECTED: [{a.row}] {a.name}: wanted {a.expected}, "
                  f"got {a.got}" for a in self.attempts if not a.ok]
        return "\n".join(lines)

    def assert_all_refused(self) -> None:
        report = self.report()
        print(report)
        assert all(a.ok for a in self.attempts), report


def to_login(resp: httpx.Response) -> bool:
    return resp.headers.get("location", "").startswith("/auth/login")


def failed_sign_in(resp: httpx.Response) -> bool:
    return "sign-in failed" in resp.text and "current-user\">U_" not in resp.text
