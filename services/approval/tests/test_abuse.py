"""The abuse matrix, against the running service over real HTTP: every way to read or
decide an approval without the right to is refused with the right status, and nothing but
the one legitimate decision ever reaches the stream.

Rows: no identity; forged identity headers; forged, expired, wrong-audience, wrong-issuer,
unsigned (`alg: none`), HMAC and other-key JWTs; misuse of the service token; wrong team;
non-approver; self-approval; replayed decision; expired approval; CSRF (no token, another
session's token); forged OIDC sign-ins (tampered ID tokens, replayed or unsolicited
callbacks).
"""

import asyncio
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from .abuse import Matrix, failed_sign_in, to_login
from .conftest import (
    PROXY_AUDIENCE,
    REQUESTER,
    SERVICE_TOKEN,
    TEAM,
    Bus,
    Service,
    approval_request,
    eventually,
)
from .idp import CLIENT_ID, SLACK_TEAM, SLACK_USER, unsigned_jwt

APPROVE = {"decision": "approve", "reason": ""}


async def test_abuse_matrix(service: Service, bus: Bus) -> None:
    a, other, done, late = (await bus.request(approval_request()),
                            await bus.request(approval_request(team="T_OTHER")),
                            await bus.request(approval_request()),
                            await bus.request(approval_request(expires_in=1.0)))
    for req in (a, done, late):
        await service.wait_stored(req.approval_id)
    await service.wait_stored(other.approval_id, team="T_OTHER")
    legit = await service.decide(done.approval_id, "U_ALICE", "approve")
    assert legit.status_code == 200  # the one decision that may be published

    m = Matrix()
    await _no_identity(m, service, a.approval_id)
    await _forged_tokens(m, service, a.approval_id)
    await _service_token_misuse(m, service, a.approval_id)
    await _wrong_team_and_people(m, service, a.approval_id)
    await _replay_and_expiry(m, service, done.approval_id, late.approval_id)
    await _csrf(m, service, a.approval_id)
    await _forged_sign_ins(m, service)

    m.assert_all_refused()
    assert len(m.attempts) >= 60
    await asyncio.sleep(1.0)  # anything wrongly decided would be on the stream by now
    decided = [(d.approval_id, d.decision.value) for d in await bus.decisions()]
    assert decided == [(done.approval_id, "approve"), (late.approval_id, "expire")]


async def _no_identity(m: Matrix, s: Service, ap: str) -> None:
    row, http = "no identity", s.http
    await m.expect(row, "list", 401, http.get("/api/approvals"))
    await m.expect(row, "read", 401, http.get(f"/api/approvals/{ap}"))
    await m.expect(row, "decide", 401, http.post(_api(ap), json=APPROVE))
    await m.expect(row, "decide, malformed body", 401, http.post(
        _api(ap), content=b"{not json", headers={"Content-Type": "application/json"}))
    await m.expect(row, "index page", 303, http.get("/"), to_login)
    await m.expect(row, "detail page", 303, http.get(f"/approvals/{ap}"), to_login)
    await m.expect(row, "decide form", 303, http.post(
        f"/approvals/{ap}/decide", data={"decision": "approve"}),
        lambda r: r.headers["location"] == f"/auth/login?next=/approvals/{ap}")
    row = "forged identity header"
    for header in ("X-Forwarded-User", "X-Auth-Request-User", "X-Remote-User",
                   "X-Forwarded-Email", "Remote-User"):
        forged = {header: "U_ALICE"}
        await m.expect(row, f"{header}: list", 401, http.get("/api/approvals", headers=forged))
        await m.expect(row, f"{header}: decide", 401,
                       http.post(_api(ap), json=APPROVE, headers=forged))
    await m.expect(row, "X-Forwarded-User: page", 303,
                   http.get(f"/approvals/{ap}", headers={"X-Forwarded-User": "U_ALICE"}),
                   to_login)


async def _forged_tokens(m: Matrix, s: Service, ap: str) -> None:
    row, idp, now = "forged token", s.idp, int(time.time())
    alice = {SLACK_USER: "U_ALICE", SLACK_TEAM: TEAM}
    same_kid = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256"})
    new_kid = RSAKey.generate_key(2048, parameters={"kid": "rsa-rogue", "alg": "RS256"})
    hmac_key = OctKey.import_key(SERVICE_TOKEN.encode())
    tokens: dict[str, str] = {
        "other key, same kid": idp.mint(alice, audience=PROXY_AUDIENCE, key=same_kid),
        "other key, unknown kid": idp.mint(alice, audience=PROXY_AUDIENCE, key=new_kid),
        "expired": idp.mint({**alice, "iat": now - 900, "exp": now - 600},
                            audience=PROXY_AUDIENCE),
        "not yet valid": idp.mint({**alice, "nbf": now + 600}, audience=PROXY_AUDIENCE),
        "wrong audience": idp.mint(alice, audience="another-app"),
        "OIDC ID token replayed as proxy JWT": idp.mint(alice, audience=CLIENT_ID),
        "wrong issuer": idp.mint({**alice, "iss": "https://evil.example"},
                                 audience=PROXY_AUDIENCE),
        "alg none": unsigned_jwt({"iss": idp.issuer, "aud": PROXY_AUDIENCE,
                                  "exp": now + 300, **alice}),
        "HS256 keyed with a known secret": jwt.encode(
            {"alg": "HS256", "kid": "rsa-1"},
            {"iss": idp.issuer, "aud": PROXY_AUDIENCE, "exp": now + 300, **alice}, hmac_key),
        "no user claim": idp.mint({SLACK_TEAM: TEAM}, audience=PROXY_AUDIENCE),
        "garbage": "abc.def.ghi",
        "wrong service token": SERVICE_TOKEN[::-1],
    }
    for name, token in tokens.items():
        auth = {"Authorization": f"Bearer {token}"}
        await m.expect(row, f"{name}: list", 401, s.http.get("/api/approvals", headers=auth))
        await m.expect(row, f"{name}: decide", 401,
                       s.http.post(_api(ap), json=APPROVE, headers=auth))
    await m.expect(row, "Basic scheme", 401, s.http.get(
        "/api/approvals", headers={"Authorization": "Basic VV9BTElDRTpwdw=="}))


async def _service_token_misuse(m: Matrix, s: Service, ap: str) -> None:
    row = "service token misuse"

    async def as_service(body: dict[str, Any]) -> httpx.Response:
        return await s.as_service("POST", _api(ap), json={**APPROVE, **body})

    await m.expect(row, "no approver named", 422, as_service({"team_id": TEAM}))
    await m.expect(row, "no team named", 422, as_service({"approver_id": "U_ALICE"}))
    await m.expect(row, "read without a team", 422, s.as_service("GET", f"/api/approvals/{ap}"))
    await m.expect(row, "another team named", 404,
                   as_service({"approver_id": "U_ALICE", "team_id": "T_OTHER"}))
    await m.expect(row, "non-approver named", 403,
                   as_service({"approver_id": "U_MALLORY", "team_id": TEAM}))
    await m.expect(row, "requester named (four-eyes)", 403,
                   as_service({"approver_id": REQUESTER, "team_id": TEAM}))
    bob = s.person("U_BOB")
    await m.expect(row, "a person names the approver", 403, bob.decide(
        ap, "approve", approver_id="U_ALICE"))


async def _wrong_team_and_people(m: Matrix, s: Service, ap: str) -> None:
    carol, nobody = s.person("U_CAROL", team="T_OTHER"), s.person("U_NOBODY", team=None)
    row = "wrong team"
    await m.expect(row, "list hides it", 200, carol.http.get("/api/approvals"),
                   lambda r: ap not in r.text)
    await m.expect(row, "read", 404, carol.http.get(f"/api/approvals/{ap}"))
    await m.expect(row, "decide", 404, carol.decide(ap, "approve"))
    await m.expect(row, "page", 404, carol.http.get(f"/approvals/{ap}"))
    await m.expect(row, "widen by team_id", 404,
                   carol.http.get(f"/api/approvals/{ap}", params={"team_id": TEAM}))
    await m.expect(row, "no team claim, approver nowhere", 404,
                   nobody.http.get(f"/api/approvals/{ap}"))
    alice = s.person("U_ALICE")
    await m.expect(row, "narrow to another team", 404,
                   alice.http.get(f"/api/approvals/{ap}", params={"team_id": "T_OTHER"}))
    await m.expect("non-approver", "decide", 403, s.person("U_MALLORY").decide(ap, "approve"))
    await m.expect("self-approval", "requester approves", 403,
                   s.person(REQUESTER).decide(ap, "approve"))


async def _replay_and_expiry(m: Matrix, s: Service, done: str, late: str) -> None:
    row = "replayed decision"
    await m.expect(row, "same person again", 409, s.person("U_ALICE").decide(done, "approve"))
    await m.expect(row, "another approver", 409, s.person("U_BOB").decide(done, "approve"))
    await m.expect(row, "through the service", 409, s.as_service(
        "POST", _api(done), json={**APPROVE, "approver_id": "U_BOB", "team_id": TEAM}))
    await eventually(lambda: _status(s, late, "expired"))
    row = "expired approval"
    await m.expect(row, "approve", 410, s.person("U_ALICE").decide(late, "approve"))
    await m.expect(row, "through the service", 410, s.as_service(
        "POST", _api(late), json={**APPROVE, "approver_id": "U_ALICE", "team_id": TEAM}))


async def _csrf(m: Matrix, s: Service, ap: str) -> None:
    row, alice, bob = "CSRF", s.person("U_ALICE"), s.person("U_BOB")
    theirs = await bob.csrf()
    await alice.csrf()  # Alice has a session, and so a token of her own
    await m.expect(row, "API without token", 403, alice.http.post(_api(ap), json=APPROVE))
    await m.expect(row, "API with another session's token", 403, alice.http.post(
        _api(ap), json=APPROVE, headers={"X-CSRF-Token": theirs}))
    await m.expect(row, "API text/plain (a cross-site form)", 422, alice.http.post(
        _api(ap), content=b'{"decision": "approve"}', headers={"Content-Type": "text/plain"}))
    form = f"/approvals/{ap}/decide"
    await m.expect(row, "form without token", 403, alice.http.post(form, data=APPROVE))
    await m.expect(row, "form with another session's token", 403, alice.http.post(
        form, data={**APPROVE, "csrf_token": theirs}))
    await m.expect(row, "logout without token", 403, alice.http.post("/auth/logout"))


async def _forged_sign_ins(m: Matrix, s: Service) -> None:
    row, idp = "forged OIDC sign-in", s.idp
    idp.sign_in_as("U_ALICE", TEAM)
    now = int(time.time())
    cases: dict[str, dict[str, Any]] = {
        "ID token for another client": {"tamper": {"aud": "another-client"}},
        "expired ID token": {"tamper": {"iat": now - 900, "exp": now - 600}},
        "ID token from another issuer": {"tamper": {"iss": "https://evil.example"}},
        "ID token with another nonce": {"tamper": {"nonce": "not-the-one-we-sent"}},
        "ID token without a user": {"tamper": {SLACK_USER: None}},
        "ID token signed by another key": {"rogue_key": RSAKey.generate_key(
            2048, parameters={"kid": "rsa-1", "alg": "RS256"})},
        "unsigned ID token (alg none)": {"unsigned": True},
    }
    for name, change in cases.items():
        for key, value in change.items():
            setattr(idp, key, value)
        await m.expect(row, name, 401, _login(s), failed_sign_in)
        idp.tamper, idp.rogue_key, idp.unsigned = {}, None, False
    async with httpx.AsyncClient(base_url=s.url) as http:
        await m.expect(row, "unsolicited callback", 401, http.get(
            "/auth/callback", params={"code": "x", "state": "y"}), failed_sign_in)


async def _login(s: Service) -> httpx.Response:
    """The whole sign-in, redirects followed, in a fresh browser."""
    async with httpx.AsyncClient(base_url=s.url, follow_redirects=True, timeout=15) as http:
        resp = await http.get("/auth/login")
        me = (await http.get("/auth/session")).json()
        assert me["user_id"] is None, f"a forged sign-in opened a session: {me}"
        return resp


async def _status(s: Service, approval_id: str, status: str) -> bool:
    return bool((await s.item(approval_id)).json()["status"] == status)


def _api(approval_id: str) -> str:
    return f"/api/approvals/{approval_id}/decision"

