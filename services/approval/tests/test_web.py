"""The pages: what an approver sees (the exact effect, escaped) and the form path (POST
with the session's CSRF token, 303 redirect, flash), sign-in for visitors without an
identity, the sandbox identity selector and its refusal in production."""

from pathlib import Path

import httpx
import pytest
from triage_approval.settings import Settings
from triage_contracts.messages import Decision, ProposedAction
from triage_contracts.testing import PRODUCTION_NATS

from .conftest import (
    APPROVAL_KEY,
    BODY,
    SERVICE_TOKEN,
    SESSION_SECRET,
    Bus,
    Service,
    approval_request,
    csrf_of,
    eventually,
    make_settings,
    serve,
    stop,
)


async def test_list_and_detail_show_the_exact_effect(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    alice = service.person("U_ALICE").http

    index = await alice.get("/")
    assert index.status_code == 200
    assert f'href="/approvals/{req.approval_id}"' in index.text
    assert 'data-testid="pending-row"' in index.text

    page = await alice.get(f"/approvals/{req.approval_id}")
    html = page.text
    assert page.status_code == 200
    assert '<dd class="mono" data-testid="effect-repo">demo-org/checkout-api</dd>' in html
    assert 'data-testid="effect-issue">#42</dd>' in html
    escaped = BODY.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'<pre id="effect-body" data-testid="effect-body">{escaped}</pre>' in html
    assert "<script>" not in html
    assert 'href="https://github.example/demo-org/checkout-api/commit/4f2a"' in html
    assert 'href="javascript:' not in html and "sneaky link" in html
    assert "why is checkout-api failing?" in html and "since deploy 4f2a" in html
    assert 'data-testid="requester">U_REQ</dd>' in html
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_other_tools_show_their_full_arguments(service: Service, bus: Bus) -> None:
    action = ProposedAction(tool="github.rerun_workflow",
                            arguments={"repo": "demo-org/checkout-api", "run_id": 7})
    req = await bus.request(approval_request(action=action))
    await service.wait_stored(req.approval_id)
    html = (await service.person("U_BOB").http.get(f"/approvals/{req.approval_id}")).text
    assert 'data-testid="effect-tool">github.rerun_workflow</dd>' in html
    assert '"repo": "demo-org/checkout-api",\n  "run_id": 7' in html


async def test_form_approve_redirects_with_flash(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    alice = service.person("U_ALICE").http
    url = f"/approvals/{req.approval_id}"
    token = csrf_of((await alice.get(url)).text)

    posted = await alice.post(f"{url}/decide", data={"decision": "approve", "csrf_token": token})
    assert posted.status_code == 303 and posted.headers["location"] == f"{url}?flash=approved"
    shown = await alice.get(posted.headers["location"])
    assert 'data-testid="flash">Approved.' in shown.text
    assert 'data-testid="status">approved</span>' in shown.text
    assert 'data-testid="decide-form"' not in shown.text
    [decision] = await eventually(bus.decisions)
    assert decision.decision is Decision.APPROVE and decision.approver_id == "U_ALICE"

    again = await alice.post(f"{url}/decide", data={"decision": "approve", "csrf_token": token})
    assert again.status_code == 409 and "already approved by U_ALICE" in again.text


async def test_form_refusals_are_shown_on_the_page(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    alice, bob = service.person("U_ALICE").http, service.person("U_BOB").http
    url = f"/approvals/{req.approval_id}"
    token = csrf_of((await alice.get(url)).text)

    no_reason = await alice.post(f"{url}/decide", data={"decision": "reject",
                                                        "csrf_token": token})
    assert no_reason.status_code == 422
    assert 'data-testid="error">a reason is required to reject</div>' in no_reason.text
    await bob.get(url)  # Bob has a session of his own, but not Alice's token
    forged = await bob.post(f"{url}/decide", data={"decision": "approve", "csrf_token": token})
    assert forged.status_code == 403 and "invalid CSRF token" in forged.text
    assert await bus.decisions() == []

    rejected = await alice.post(f"{url}/decide", data={
        "decision": "reject", "reason": "not <now>", "csrf_token": token})
    assert rejected.status_code == 303
    shown = await alice.get(rejected.headers["location"])
    assert 'data-testid="decision-reason">not &lt;now&gt;</dd>' in shown.text
    missing = await alice.get("/approvals/ap-missing")
    assert missing.status_code == 404 and 'data-testid="not-found"' in missing.text


async def test_visitors_without_identity_are_sent_to_sign_in(service: Service, bus: Bus,
                                                            nats_url: str, tmp_path: Path
                                                            ) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    for path in ("/", f"/approvals/{req.approval_id}"):
        resp = await service.http.get(path)  # OIDC configured: off to the login
        assert resp.status_code == 303 and resp.headers["location"] == f"/auth/login?next={path}"
    # Without OIDC there is nowhere to send them: a 401 page says how to sign in.
    settings = make_settings(nats_url, tmp_path / "proxy-only", None,
                             proxy_jwks_url="http://127.0.0.1:9/jwks",
                             proxy_jwt_issuer="https://idp.test", proxy_jwt_audience="a")
    server, task, url = await serve(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            page = await http.get("/")
            assert page.status_code == 401 and "sign-in proxy" in page.text
            assert "pending-row" not in page.text
    finally:
        await stop(server, task)


async def test_sandbox_identity_selector(nats_url: str, tmp_path: Path, bus: Bus,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(nats_url, tmp_path, dev_identity=True)
    server, task, url = await serve(settings)
    assert "DEV IDENTITY: anyone can act as any sandbox user" in capsys.readouterr().out
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            req = await bus.request(approval_request())
            page = f"/approvals/{req.approval_id}"
            first = await http.get(page)
            assert first.status_code == 401 and "SANDBOX" in first.text
            assert 'data-testid="sign-in-needed"' in first.text
            assert '<option value="U_ALICE"' in first.text

            no_token = await http.post("/dev/act-as", data={"user_id": "U_BOB", "next": page})
            assert no_token.status_code == 403  # the selector is a form like any other
            switched = await http.post("/dev/act-as", data={
                "user_id": "U_BOB", "next": page, "csrf_token": csrf_of(first.text)})
            assert switched.status_code == 303 and switched.headers["location"] == page
            html = (await eventually(lambda: _stored_page(http, page))).text
            assert 'data-testid="current-user">U_BOB</strong>' in html
            assert '<option value="U_REQ"' in html  # the requester, to try four-eyes
            posted = await http.post(f"{page}/decide", data={"decision": "approve",
                                                             "csrf_token": csrf_of(html)})
            assert posted.status_code == 303
            [decision] = await eventually(bus.decisions)
            assert decision.approver_id == "U_BOB"
            session = http.cookies.get("triage_session")
    finally:
        await stop(server, task)
    await _dev_session_is_worthless_without_dev_identity(nats_url, tmp_path, session, page)


async def _dev_session_is_worthless_without_dev_identity(
        nats_url: str, tmp_path: Path, session: str | None, page: str) -> None:
    """The same signed session, presented where DEV_IDENTITY is off, names nobody."""
    assert session
    settings = make_settings(nats_url, tmp_path / "no-dev", None)
    assert settings.session_secret is not None
    assert settings.session_secret.get_secret_value() == SESSION_SECRET
    server, task, url = await serve(settings)
    try:
        async with httpx.AsyncClient(base_url=url, cookies={"triage_session": session}) as http:
            assert (await http.post("/dev/act-as", data={"user_id": "U_BOB"})).status_code == 404
            resp = await http.get(page)
            assert resp.status_code == 401 and "SANDBOX" not in resp.text
            assert (await http.get("/api/approvals")).status_code == 401
    finally:
        await stop(server, task)


def test_production_refuses_dev_identity(nats_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="DEV_IDENTITY=true is refused in production") as err:
        make_settings(nats_url, tmp_path, environment="production", dev_identity=True)
    assert SERVICE_TOKEN not in str(err.value)
    assert APPROVAL_KEY.private_pem.splitlines()[1] not in str(err.value)
    assert isinstance(make_settings(nats_url, tmp_path, environment="production",
                                    **PRODUCTION_NATS), Settings)


async def _stored_page(http: httpx.AsyncClient, path: str) -> httpx.Response | None:
    resp = await http.get(path)
    return resp if resp.status_code == 200 else None
