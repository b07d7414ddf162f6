"""The sandbox channel page in a real browser: the whole stack as `triage-dev` runs it
(every service a process, real nats-server, the sandbox stand-ins) and Debian's Chromium
driven by Playwright. Never `playwright install`: it downloads a browser and fails here."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-sync", "--disable-background-networking",
                 "--disable-component-update"]
ROOT = Path(__file__).resolve().parents[2]
# The README's pictures are refreshed on purpose (UPDATE_SCREENSHOTS=1); ordinary runs keep
# theirs in test-artifacts/ so a test run never changes tracked files.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1"
                      else "test-artifacts/screenshots")


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    # Per test, not per session: the sync API keeps an event loop running in this thread
    # while it is started, which would break the asyncio tests that run after these.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with "
                    "`apt-get install -y chromium` (never `playwright install`)", pytrace=False)
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                          headless=True)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], f"the page raised JavaScript errors: {errors}"


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
