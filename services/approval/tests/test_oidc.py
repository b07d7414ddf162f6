"""OpenID Connect login against the provider stand-in, over real HTTP with a client that
follows redirects and keeps cookies: authorization code with PKCE (S256), state and nonce;
the ID token's claims name the person and their Slack team; the session cookie is
HttpOnly, SameSite=Lax and Secure behind https; codes cannot be replayed; `next` stays on
this site; logout ends the session."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from triage_contracts.messages import AuditKind, Decision

from .conftest import (
    Bus,
    Service,
    approval_request,
    csrf_of,
    eventually,
    make_settings,
    serve,
    stop,
)
from .idp import CLIENT_ID, IdP


def browser(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, follow_redirects=True, timeout=15)


async def test_login_with_pkce_then_approve_and_log_out(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    service.idp.sign_in_as("U_ALICE", "T_ACME")
    page = f"/approvals/{req.approval_id}"
    async with browser(service) as http:
        landed = await http.get(page)  # → /auth/login → the provider → callback → page
        assert landed.status_code == 200 and landed.url.path == page, landed.text
        assert 'data-testid="current-user">U_ALICE</strong>' in landed.text
        assert [r.status_code for r in landed.history] == [303, 302, 302, 303]

        [asked] = service.idp.seen
        assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
        assert asked["nonce"] and asked["state"] and asked["client_id"] == CLIENT_ID
        assert asked["redirect_uri"] == f"{service.settings.public_url}/auth/callback"
        assert "openid" in asked["scope"].split()

        posted = await http.post(f"{page}/decide", follow_redirects=False, data={
            "decision": "approve", "csrf_token": csrf_of(landed.text)})
        assert posted.status_code == 303, posted.text
        [decision] = await eventually(bus.decisions)
        assert decision.decision is Decision.APPROVE and decision.approver_id == "U_ALICE"
        audit = await eventually(lambda: _decided(bus))
        # The sweep may publish the fresh decision before the request does (same message).
        assert audit.actor == "U_ALICE" and audit.detail["via"] in ("web:oidc", "reconciler")

        shown = await http.get(page)
        out = await http.post("/auth/logout", data={"csrf_token": csrf_of(shown.text)})
        assert out.url.path == "/auth/signed-out" and 'data-testid="signed-out"' in out.text
        again = await http.get("/", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"].startswith("/auth/login")
        assert (await http.get("/api/approvals")).status_code == 401


async def test_the_team_claim_scopes_what_a_person_sees(service: Service, bus: Bus) -> None:
    ours = await bus.request(approval_request(team="T_OTHER"))
    theirs = await bus.request(approval_request(team="T_ACME"))
    await service.wait_stored(ours.approval_id, team="T_OTHER")
    await service.wait_stored(theirs.approval_id)
    service.idp.sign_in_as("U_CAROL", "T_OTHER")
    async with browser(service) as http:
        index = await http.get("/")
        assert ours.approval_id in index.text and theirs.approval_id not in index.text
        listed = (await http.get("/api/approvals")).json()["approvals"]
        assert [a["approval_id"] for a in listed] == [ours.approval_id]
        hidden = await http.get(f"/approvals/{theirs.approval_id}")
        assert hidden.status_code == 404
        assert (await http.get(f"/api/approvals/{theirs.approval_id}")).status_code == 404
        me = (await http.get("/auth/session")).json()
        assert (me["user_id"], me["via"], me["teams"]) == ("U_CAROL", "oidc", ["T_OTHER"])


async def test_a_code_is_good_once_and_next_stays_on_this_site(service: Service) -> None:
    service.idp.sign_in_as("U_BOB", "T_ACME")
    async with httpx.AsyncClient(base_url=service.url, timeout=15) as http:
        start = await http.get("/auth/login", params={"next": "//evil.example/x"})
        assert start.status_code == 302
        at_idp = await http.get(start.headers["location"])
        callback = at_idp.headers["location"]
        assert urlsplit(callback).path == "/auth/callback"
        assert parse_qs(urlsplit(callback).query)["code"]
        done = await http.get(callback)
        assert done.status_code == 303 and done.headers["location"] == "/"
        replay = await http.get(callback)
        assert replay.status_code == 401 and "sign-in failed" in replay.text
        # The first sign-in stands: the replay changed nothing.
        assert (await http.get("/auth/session")).json()["user_id"] == "U_BOB"


async def test_session_cookie_flags(nats_url: str, tmp_path: Path, idp: IdP) -> None:
    for public, secure in (("https://approvals.example", True), (None, False)):
        overrides = {"public_url": public} if public else {}
        settings = make_settings(nats_url, tmp_path / str(secure), idp.issuer, **overrides)
        server, task, url = await serve(settings)
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                cookie = (await http.get("/auth/session")).headers["set-cookie"].lower()
        finally:
            await stop(server, task)
        assert cookie.startswith("triage_session=") and "httponly" in cookie
        assert "samesite=lax" in cookie and "max-age=28800" in cookie
        assert ("; secure" in cookie) is secure


async def _decided(bus: Bus):  # type: ignore[no-untyped-def]
    events = [e for e in await bus.audit() if e.audit_kind is AuditKind.DECISION]
    return events[0] if events else None


async def test_an_oidc_session_is_worthless_once_oidc_is_off(service: Service, nats_url: str,
                                                             tmp_path: Path) -> None:
    service.idp.sign_in_as("U_BOB", "T_ACME")
    async with browser(service) as http:
        await http.get("/auth/login")
        session = http.cookies.get("triage_session")
        assert (await http.get("/auth/session")).json()["user_id"] == "U_BOB"
    settings = make_settings(nats_url, tmp_path / "no-oidc", None)  # same session secret
    server, task, url = await serve(settings)
    try:
        async with httpx.AsyncClient(base_url=url, cookies={"triage_session": session or ""}
                                     ) as http:
            assert (await http.get("/auth/session")).json()["user_id"] is None
            assert (await http.get("/api/approvals")).status_code == 401
    finally:
        await stop(server, task)
