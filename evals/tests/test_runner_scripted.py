"""The runner's scripted agent (conftest.py's scripted stack): the case's model_script is
what the scripted model stand-in answers, its tool calls show in the trajectory with
their arguments and results, usage is counted, and follow-ups are asked in the thread."""

from pathlib import Path

import httpx
import pytest
from triage_sandbox.stack import Stack

from evals import runner
from evals.cases import Agent, load_cases
from evals.observe import Observation
from evals.results import RunResults
from evals.target import Target, from_stack
from evals.trials import Trial

CASES = Path(__file__).parent / "runner_cases"


@pytest.fixture(scope="module")
def target(scripted_stack: Stack) -> Target:
    return from_stack(scripted_stack)


@pytest.fixture(scope="module")
def model_key(scripted_stack: Stack) -> str:
    return scripted_stack.plan.model_token  # the key the scripted stand-in expects


def run(target: Target, *names: str) -> dict[str, Observation]:
    observed: list[tuple[Trial, Observation]] = []
    results = runner.run_trials({Agent.SCRIPTED: target}, load_cases(CASES, names=list(names)),
                                observed=observed)
    assert all(r.status == "done" for r in results.cases), results.model_dump()
    return {t.name: o for t, o in observed}


def test_the_stack_plays_the_scripted_agent(target: Target) -> None:
    assert target.agent == "scripted" and target.per_case_worlds


def test_the_model_scripts_calls_are_the_trajectory(target: Target) -> None:
    obs = run(target, "scripted-tools")["scripted-tools~scripted"]
    calls = [(c.tool, c.args, c.ok) for c in obs.trajectory]
    assert calls == [
        ("github.workflow_runs", {"repo": "demo-org/checkout-api", "limit": 3}, True),
        ("github.recent_commits", {"repo": "demo-org/checkout-api", "limit": 2}, True)]
    assert obs.reply_text.startswith("CI is red since e15da5d.")
    # What the tools returned, as the model read it: the failing run and the bad commit.
    assert "501506" in obs.evidence_text and "Switch payment client" in obs.evidence_text
    assert obs.tokens > 0 and obs.model_calls == 3 and obs.cost_usd > 0
    requests = httpx.get(target.url("openai") + "/sandbox/requests", timeout=5).json()
    assert any("github_recent_commits" in str(r["body"].get("tools")) for r in requests)


def test_a_follow_up_is_asked_in_the_answers_thread(target: Target) -> None:
    obs = run(target, "scripted-follow-up")["scripted-follow-up~scripted"]
    # Expectations judge the last run: the follow-up's answer...
    assert obs.reply_text.startswith("It started with the run on e15da5d")
    assert obs.trajectory == []
    # ...while the trial keeps what any of its runs fetched and posted.
    assert "501506" in obs.evidence_text
    threads = {(p["channel"], p["thread_ts"]) for p in obs.world.slack_posts}
    assert len(obs.world.slack_posts) == 2 and threads == {(obs.channel, obs.thread_ts)}
    assert obs.model_calls >= 3


def test_model_real_runs_the_cases_against_the_configured_model(
        target: Target, model_key: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`--model real` with OPENAI_API_KEY / OPENAI_BASE_URL: the scripted stand-in plays
    the OpenAI-compatible endpoint of a stack started for it (the router's real SDK)."""
    case = load_cases(CASES, names=["scripted-tools"])[0]
    runner.load_script(target, case)
    asked = httpx.get(target.url("openai") + "/sandbox/requests", timeout=5).json()
    monkeypatch.setenv("OPENAI_API_KEY", model_key)
    monkeypatch.setenv("OPENAI_BASE_URL", target.url("openai") + "/v1")
    out = tmp_path / "real.json"
    code = runner.main(["--model", "real", "--cases", str(CASES), "--case", "scripted-tools",
                        "--out", str(out)])
    assert code == 0
    [result] = RunResults.load(out).cases
    assert (result.name, result.status, result.passed) == (
        "scripted-tools", "done", True), result.reasons
    assert [t.agent for t in result.trials] == ["real"]
    # The model was asked: the classification and both turns of the investigation.
    requests = httpx.get(target.url("openai") + "/sandbox/requests", timeout=5).json()
    assert len(requests) - len(asked) == 3
