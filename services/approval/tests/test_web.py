"""The pages: what an approver sees (the exact effect, escaped) and the form path
(POST, 303 redirect, flash), the sandbox identity selector and its refusal in production."""

import re
from pathlib import Path

import httpx
import pytest
from triage_approval.settings import Settings
from triage_contracts.messages import Decision, ProposedAction

from .conftest import (
    BODY,
    KEY,
    SERVICE_TOKEN,
    Bus,
    Service,
    approval_request,
    eventually,
    make_settings,
    serve,
)

ALICE = {"X-Forwarded-User": "U_ALICE"}


def form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([0-9a-f]{64})"', html)
    assert match, "the decide form carries a token"
    return match.group(1)


async def test_list_and_detail_show_the_exact_effect(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)

    index = await service.http.get("/")
    assert index.status_code == 200
    assert f'href="/approvals/{req.approval_id}"' in index.text
    assert 'data-testid="pending-row"' in index.text

    page = await service.http.get(f"/approvals/{req.approval_id}", headers=ALICE)
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


async def test_other_tools_show_their_full_arguments(service: Service, bus: Bus) -> None:
    action = ProposedAction(tool="github.rerun_workflow",
                            arguments={"repo": "demo-org/checkout-api", "run_id": 7})
    req = await bus.request(approval_request(action=action))
    await service.wait_stored(req.approval_id)
    html = (await service.http.get(f"/approvals/{req.approval_id}")).text
    assert 'data-testid="effect-tool">github.rerun_workflow</dd>' in html
    assert '"repo": "demo-org/checkout-api",\n  "run_id": 7' in html


async def test_form_approve_redirects_with_flash(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    url = f"/approvals/{req.approval_id}"
    token = form_token((await service.http.get(url, headers=ALICE)).text)

    posted = await service.http.post(f"{url}/decide", headers=ALICE,
                                     data={"decision": "approve", "form_token": token})
    assert posted.status_code == 303 and posted.headers["location"] == f"{url}?flash=approved"
    shown = await service.http.get(posted.headers["location"], headers=ALICE)
    assert 'data-testid="flash">Approved.' in shown.text
    assert 'data-testid="status">approved</span>' in shown.text
    assert 'data-testid="decide-form"' not in shown.text
    [decision] = await eventually(bus.decisions)
    assert decision.decision is Decision.APPROVE and decision.approver_id == "U_ALICE"

    again = await service.http.post(f"{url}/decide", headers=ALICE,
                                    data={"decision": "approve", "form_token": token})
    assert again.status_code == 409 and "already approved by U_ALICE" in again.text


async def test_form_refusals_are_shown_on_the_page(service: Service, bus: Bus) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    url = f"/approvals/{req.approval_id}"
    token = form_token((await service.http.get(url, headers=ALICE)).text)

    no_reason = await service.http.post(f"{url}/decide", headers=ALICE,
                                        data={"decision": "reject", "form_token": token})
    assert no_reason.status_code == 422
    assert 'data-testid="error">a reason is required to reject</div>' in no_reason.text
    forged = await service.http.post(f"{url}/decide", headers={"X-Forwarded-User": "U_BOB"},
                                     data={"decision": "approve", "form_token": token})
    assert forged.status_code == 403 and "not issued to you" in forged.text
    assert await bus.decisions() == []

    rejected = await service.http.post(
        f"{url}/decide", headers=ALICE,
        data={"decision": "reject", "reason": "not <now>", "form_token": token})
    assert rejected.status_code == 303
    shown = await service.http.get(rejected.headers["location"])
    assert 'data-testid="decision-reason">not &lt;now&gt;</dd>' in shown.text
    assert (await service.http.get("/approvals/ap-missing")).status_code == 404


async def test_sandbox_identity_selector(nats_url: str, tmp_path: Path, bus: Bus) -> None:
    settings = make_settings(nats_url, tmp_path, dev_identity=True)
    server, task, url = await serve(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            req = await bus.request(approval_request())
            page = f"/approvals/{req.approval_id}"
            await eventually(lambda: _ok(http, page))
            first = (await http.get(page)).text
            assert "SANDBOX" in first and 'data-testid="sign-in-needed"' in first
            assert '<option value="U_REQ"' in first  # the requester, to try four-eyes

            switched = await http.post("/dev/act-as", data={"user_id": "U_BOB", "next": page})
            assert switched.status_code == 303 and switched.headers["location"] == page
            html = (await http.get(page)).text
            assert 'data-testid="current-user">U_BOB</strong>' in html
            posted = await http.post(f"{page}/decide",
                                     data={"decision": "approve", "form_token": form_token(html)})
            assert posted.status_code == 303
            [decision] = await eventually(bus.decisions)
            assert decision.approver_id == "U_BOB"
    finally:
        server.should_exit = True
        await task


async def test_without_dev_identity_the_cookie_is_ignored(service: Service, bus: Bus) -> None:
    assert (await service.http.post("/dev/act-as", data={"user_id": "U_BOB"})).status_code == 404
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    service.http.cookies.set("triage_dev_user", "U_BOB")
    html = (await service.http.get(f"/approvals/{req.approval_id}")).text
    assert "SANDBOX" not in html and 'data-testid="sign-in-needed"' in html


def test_production_refuses_dev_identity(nats_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="DEV_IDENTITY=true is refused in production") as err:
        make_settings(nats_url, tmp_path, environment="production", dev_identity=True)
    assert SERVICE_TOKEN not in str(err.value) and KEY not in str(err.value)
    assert isinstance(make_settings(nats_url, tmp_path, environment="production"), Settings)


async def _ok(http: httpx.AsyncClient, path: str) -> bool:
    return (await http.get(path)).status_code == 200
