"""The approval service's JSON API, as the Slack buttons need it.

The approval service owns every rule (who may approve, four-eyes, expiry, once only); this
client only carries the clicking user's id and the team of the click (from Slack's signed
payload), vouched for by SERVICE_TOKEN, and sorts the answer: recorded, refused with a
reason a person can read, or unavailable (try later). The approval service answers only
within that team: a click in one workspace can never read or decide another's approval.
"""

from dataclasses import dataclass
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from triage_contracts.errors import ErrorCode, TemporaryError


@dataclass(frozen=True)
class Decided:
    run_id: str
    status: str


@dataclass(frozen=True)
class Refused:
    """The approval service said no; `reason` is its own words (the body's `reason`)."""

    status: int
    reason: str


class ApprovalUnavailable(TemporaryError):
    """The approval service could not be asked (down, slow, or failing with 5xx)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, ErrorCode.UPSTREAM_UNAVAILABLE)


class ApprovalApi:
    def __init__(self, base_url: str, token: SecretStr | None, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            return {}
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    def _url(self, approval_id: str, suffix: str = "") -> str:
        # The id comes from a signed Slack payload, but it still must not reshape the path.
        return f"{self._base}/api/approvals/{quote(approval_id, safe='')}{suffix}"

    async def decide(self, approval_id: str, decision: str, reason: str, approver_id: str,
                     team_id: str) -> Decided | Refused:
        body = {"decision": decision, "reason": reason, "approver_id": approver_id,
                "team_id": team_id}
        resp = await self._call("POST", self._url(approval_id, "/decision"), json=body)
        if resp.status_code == 200:
            view = resp.json()
            return Decided(run_id=str(view["run_id"]), status=str(view["status"]))
        return Refused(resp.status_code, _detail(resp))

    async def run_of(self, approval_id: str, team_id: str) -> str | None:
        """The run an approval of `team_id` belongs to (None: no such approval there)."""
        resp = await self._call("GET", self._url(approval_id), params={"team_id": team_id})
        if resp.status_code != 200:
            return None
        return str(resp.json()["run_id"])

    async def _call(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                resp = await http.request(method, url, headers=self._headers(), **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise ApprovalUnavailable(f"approval service unreachable: {type(exc).__name__}"
                                      ) from exc
        if resp.status_code >= 500:
            raise ApprovalUnavailable(f"approval service answered {resp.status_code}")
        return resp


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        detail = body.get("reason") or body.get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    return f"refused by the approval service (HTTP {resp.status_code})"
