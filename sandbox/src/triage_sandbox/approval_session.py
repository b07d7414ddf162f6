"""Acting as a sandbox person on the approval service's API, the way scripts, evals and
tests do it: the dev identity (DEV_IDENTITY, sandbox only) is chosen through the page's
own 'act as' form, CSRF token included, and every later call carries the session cookie
and the session's CSRF token. A service without the dev identity answers 404 to the
form, and this raises saying so: there is no header to assert who you are.
"""

from types import TracebackType
from typing import Any

import httpx


class NotInSandbox(RuntimeError):
    """The approval service does not offer the dev identity (DEV_IDENTITY is off)."""


class DevSession:
    def __init__(self, base_url: str, user_id: str, timeout: float = 10.0) -> None:
        self.user_id = user_id
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        try:
            chosen = self.http.post("/dev/act-as", data={
                "user_id": user_id, "csrf_token": self._csrf(), "next": "/"})
            if chosen.status_code != 303:
                raise NotInSandbox(f"cannot act as {user_id} at {base_url}: the approval "
                                   f"service answered {chosen.status_code} (DEV_IDENTITY off?)")
            self.csrf = self._csrf()  # signing in starts a fresh session and token
        except BaseException:
            self.http.close()
            raise

    def approvals(self, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        resp = self.http.get("/api/approvals", params=params)
        resp.raise_for_status()
        return list(resp.json()["approvals"])

    def get(self, approval_id: str) -> httpx.Response:
        return self.http.get(f"/api/approvals/{approval_id}")

    def decide(self, approval_id: str, decision: str, reason: str = "") -> httpx.Response:
        return self.http.post(f"/api/approvals/{approval_id}/decision",
                              json={"decision": decision, "reason": reason},
                              headers={"X-CSRF-Token": self.csrf})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "DevSession":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _csrf(self) -> str:
        resp = self.http.get("/auth/session")
        resp.raise_for_status()
        return str(resp.json()["csrf_token"])
