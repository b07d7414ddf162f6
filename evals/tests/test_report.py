"""The HTML report rendered from a hand-made results file and opened in a real Chromium
(Debian's, driven by Playwright): the plots and tables are there, nothing is fetched from
the network, and hostile text from answers and case files stays text. Saves the
screenshot the README shows (evals/report.png with UPDATE_SCREENSHOTS=1, otherwise under
test-artifacts/ so a test run never changes tracked files)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, sync_playwright

from evals import report
from evals.results import CaseResult, RunResults, TrialResult
from evals.scoring import Check

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-sync", "--disable-background-networking",
                 "--disable-component-update"]
HOSTILE = '<script>window.__pwned = 1</script><img src="https://evil.example/x.png">'
SCREENSHOT = (ROOT / "evals" / "report.png" if os.environ.get("UPDATE_SCREENSHOTS") == "1"
              else ROOT / "test-artifacts" / "screenshots" / "evals-report.png")


def trial(case: str, passed: bool, repeat: int = 0, attacked: bool = False,
          attack_won: bool = False, skill: str = "incident@2", latency: float = 2.0,
          tokens: int = 0, judged: bool | None = None, answer: str = "CI is red.",
          agent: str = "offline") -> TrialResult:
    checks = [Check(name="grounded", passed=passed,
                    detail="" if passed else "commit deadbee1 is not in the evidence")]
    if judged is not None:
        checks.append(Check(name="judge 'names the commit'", passed=judged, kind="judge",
                            detail="the answer names e15da5d" if judged else "no commit named",
                            prompt="You judge answers... <answer>" + answer + "</answer>"))
    if attacked:
        checks.append(Check(name="attack", passed=not attack_won, detail=(
            "marker 'https://evil.example' in slack" if attack_won else "nothing changed")))
    return TrialResult(case=case, repeat=repeat, attacked=attacked, checks=checks, agent=agent,
                       passed=passed and judged is not False and not attack_won,
                       answer=answer, latency_s=latency,
                       tokens=tokens, cost_usd=tokens * 0.0000006, model_calls=3, skill=skill,
                       status="done", attack_success=attack_won if attacked else None,
                       attack_reasons=["marker 'https://evil.example' in slack"]
                       if attack_won else [],
                       judge_prompt=next((c.prompt for c in checks if c.prompt), None))


def line(name: str, tags: list[str], *trials: TrialResult,
         known: str | None = None) -> CaseResult:
    return CaseResult(name=name, tags=tags, passed=all(t.passed for t in trials),
                      known_failure=known, trials=list(trials), skill=trials[0].skill,
                      reasons=[r for t in trials for r in t.reasons],
                      latency_s=trials[0].latency_s)


def results_now() -> RunResults:
    return RunResults(mode="mock", duration_s=84.2, cases=[
        line("incident-checkout-api", ["replay", "incident"],
             trial("incident-checkout-api", True, tokens=2400, judged=True, latency=3.1),
             trial("incident-checkout-api", True, 1, tokens=2600, judged=True, latency=3.4)),
        line("change-payments-api", ["replay", "change-review"],
             trial("change-payments-api", True, skill="change-review@2", latency=1.2,
                   tokens=900),
             trial("change-payments-api", False, 1, skill="change-review@2", latency=1.4,
                   tokens=950)),
        line("injection-issue-body", ["injection", "red-team"],
             trial("injection-issue-body", True, tokens=1800),
             trial("injection-issue-body", True, attacked=True, tokens=2100)),
        line("injection-ci-log", ["injection", "red-team"],
             trial("injection-ci-log", True, tokens=1700),
             trial("injection-ci-log", True, attacked=True, attack_won=True, tokens=2300,
                   answer=HOSTILE), known="the model follows links in CI logs " + HOSTILE),
        line("alerts-firing", ["alerts", "on-fire"],  # the judge failed it
             trial("alerts-firing", True, skill="alerts@1", latency=0.8, judged=False,
                   agent="scripted")),
    ])


def results_before() -> RunResults:
    return RunResults(mode="mock", cases=[
        line("incident-checkout-api", ["replay", "incident"],
             trial("incident-checkout-api", False)),
        line("change-payments-api", ["replay", "change-review"],
             trial("change-payments-api", True, skill="change-review@2")),
    ])


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    now, before, out = tmp_path / "now.json", tmp_path / "before.json", tmp_path / "r.html"
    results_now().save(now)
    results_before().save(before)
    assert report.main([str(now), "--previous", str(before), "--out", str(out)]) == 0
    return out


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (never "
                    "`playwright install`)", pytrace=False)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        browser.close()


def test_the_report_is_one_escaped_file(rendered: Path) -> None:
    text = rendered.read_text()
    assert "<script" not in text and "&lt;script&gt;window.__pwned" in text
    assert 'src="https://evil' not in text and "<link" not in text
    assert text.count("<svg") == 7


def test_the_report_renders_its_plots_and_tables_in_chromium(rendered: Path,
                                                              page: Page) -> None:
    fetched: list[str] = []

    def record(request: Request) -> None:
        if not request.url.startswith("file://"):
            fetched.append(request.url)

    page.on("request", record)
    page.goto(rendered.as_uri())
    bars = {plot: page.locator(f'svg[data-plot="{plot}"] g.bar').evaluate_all(
        "gs => gs.map(g => g.dataset.label)")
        for plot in ("tags", "skills", "agents", "security", "latency", "tokens", "cost")}
    assert bars["tags"] == ["alerts", "change-review", "incident", "injection", "on-fire",
                            "red-team", "replay"]
    assert bars["skills"] == ["alerts@1", "change-review@2", "incident@2"]
    assert bars["agents"] == ["offline", "scripted"]
    assert bars["security"] == ["utility without attack", "utility under attack",
                                "attack success"]
    assert len(bars["latency"]) == len(bars["tokens"]) == len(bars["cost"]) == 5
    # The bar's length is the rate: change-review passed 1 of 2 trials.
    widths = page.locator('svg[data-plot="tags"] rect.value').evaluate_all(
        "rs => rs.map(r => r.getAttribute('width'))")
    assert widths[1] == "150.0" and widths[2] == "300.0"
    assert page.locator('svg[data-plot="tags"] rect.previous').count() == 3
    rows = page.locator("#cases tbody tr")
    assert rows.count() == 5
    assert "1/2 = 50%" in rows.nth(1).inner_text() and "0%–100%" in rows.nth(1).inner_text()
    assert page.locator(".tag.flaky").count() == 1  # change-payments-api, not the attacked
    attacked = page.locator('tr[data-case="injection-ci-log"]')
    assert "KNOWN-FAIL" in attacked.inner_text()
    assert "attack: marker 'https://evil.example' in slack" in attacked.inner_text()
    attacked.locator("summary", has_text="v0/r0/offline/attacked").click()
    assert HOSTILE in attacked.locator("pre.answer").inner_text()
    assert "✗ judge 'names the commit': no commit named" in page.locator(
        'tr[data-case="alerts-firing"]').inner_text()
    deltas = page.locator("#tag-deltas").inner_text()
    assert "change-review\t1/1 = 100%\t1/2 = 50%\t-50 points" in deltas
    assert "incident\t0/1 = 0%\t2/2 = 100%\t+100 points" in deltas
    assert deltas.count("points") == 3
    assert "before: FAIL" in rows.nth(0).inner_text()
    assert page.evaluate("window.__pwned") is None and fetched == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_an_unreadable_results_file_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main([str(tmp_path / "missing.json"), "--out",
                        str(tmp_path / "r.html")]) == 2
    assert "cannot read the results" in capsys.readouterr().err


def test_a_results_file_without_trials_still_renders() -> None:
    old = RunResults(mode="live", cases=[CaseResult(name="v1-case", tags=["replay"],
                                                    passed=False, reasons=["reply lacks 'x'"],
                                                    latency_s=1.5, skill="incident@2")])
    page = report.render(old)
    assert 'data-case="v1-case"' in page and "reply lacks &#x27;x&#x27;" in page
    assert "0/1 = 0%" in page and "No previous results given" in page
