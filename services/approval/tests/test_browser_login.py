"""The approval UI in a real browser (Debian's Chromium driven by Playwright, never
`playwright install`): opening an approval sends the approver through the OIDC provider
stand-in's login and back to the page they asked for; they approve with the form, the
decision is recorded under their Slack user id, and signing out ends the session.

The service and the provider run under uvicorn in threads (Playwright's sync API owns this
thread's event loop while it runs); NATS is a real nats-server."""

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from triage_approval.app import build_app
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.streams import provision
from triage_contracts.testing.natsserver import free_port

from .conftest import SERVICE_TOKEN, TEAM, Bus, Threaded, approval_request, make_settings
from .idp import IdP, build_idp_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-sync", "--disable-background-networking",
                 "--disable-component-update"]
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 20_000


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with "
                    "`apt-get install -y chromium` (never `playwright install`)", pytrace=False)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                          headless=True)
        yield launched
        launched.close()


def test_sign_in_with_the_provider_then_approve(browser: Browser, nats_url: str,
                                                tmp_path: Path) -> None:
    idp_port = free_port()
    idp = IdP(issuer=f"http://127.0.0.1:{idp_port}")
    settings = make_settings(nats_url, tmp_path, idp.issuer)
    idp.redirect_uris.add(f"{settings.public_url}/auth/callback")
    idp.sign_in_as("U_ALICE", TEAM, name="Alice")
    with Threaded(build_idp_app(idp), idp_port), \
            Threaded(build_app(settings), settings.port) as service:
        # Playwright's sync API holds this thread's loop: publish from a thread of its own.
        with ThreadPoolExecutor(1) as pool:
            approval_id = pool.submit(asyncio.run, _request(nats_url)).result(timeout=30)
        _wait(lambda: _item(service.url, approval_id).status_code == 200)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        try:
            _login_and_approve(page, service.url, approval_id)
        finally:
            context.close()
        item = _item(service.url, approval_id).json()
        assert (item["status"], item["decided_by"]) == ("approved", "U_ALICE")
        [asked] = idp.seen
        assert asked["code_challenge_method"] == "S256"


def _login_and_approve(page: Page, url: str, approval_id: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{url}/approvals/{approval_id}")  # → login → provider → back here
    expect(page).to_have_url(f"{url}/approvals/{approval_id}", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("current-user")).to_have_text("U_ALICE")
    expect(page.get_by_test_id("effect-repo")).to_have_text("demo-org/checkout-api")
    page.get_by_test_id("approve-button").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Approved.", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("status")).to_have_text("approved")
    expect(page.get_by_test_id("decided-by")).to_have_text("U_ALICE")
    page.screenshot(path=str(SCREENSHOTS / "approval-oidc-approved.png"))
    page.get_by_test_id("logout-button").click()
    expect(page.get_by_test_id("signed-out")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("current-user")).to_have_text("not signed in")


async def _request(nats_url: str) -> str:
    broker = build_broker(nats_url, "orchestrator-stand-in")
    await broker.connect()
    try:
        await provision(jetstream(broker))
        return (await Bus(broker).request(approval_request())).approval_id
    finally:
        await broker.stop()


def _item(url: str, approval_id: str) -> httpx.Response:
    return httpx.get(f"{url}/api/approvals/{approval_id}", params={"team_id": TEAM},
                     headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=10)


def _wait(check: object, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
