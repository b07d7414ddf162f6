"""Record mode against the sandbox stand-ins playing the real systems (real HTTP;
PyGithub and httpx as against GitHub and Prometheus): the recorded world file loads,
holds no secret that was in the source, and a case replayed in it gets the same
answers as in the world it was recorded from."""

import re
import shutil
from pathlib import Path

import pytest
import yaml
from triage_sandbox.stack import Stack
from triage_sandbox.world import load_world

from evals import record, runner
from evals.cases import Agent, Case, load_case
from evals.observe import Observation
from evals.target import Target, from_stack
from evals.trials import Trial
from evals.worlds import load_world as serve_world

SOURCE = Path(__file__).parent / "runner_cases" / "record-source"
QUERIES = ["http_requests_total", "up", "service:http_request_duration_seconds:p99"]
FACTS = ("CI has failed since", "that commit:", "it came with", "failed job", "5xx ratio")
# Series are recorded at the --step resolution: when a jump happened is known to a step.
MINUTE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


@pytest.fixture(scope="module")
def target(offline_stack: Stack) -> Target:
    return from_stack(offline_stack)


def answer(target: Target, case: Case) -> tuple[list[str], Observation]:
    result, obs = runner.run_trial(target, case, Trial(case.name, 0, case.text, 0,
                                                       Agent.OFFLINE, False))
    assert obs is not None and result.passed, result.reasons
    facts = [MINUTE.sub("<minute>", line) for line in obs.reply_text.splitlines()
             if line.startswith(tuple(f"• {f}" for f in FACTS))]
    return sorted(set(facts)), obs


def test_a_recorded_world_replays_the_same_answers(target: Target, tmp_path: Path) -> None:
    source = load_case(SOURCE)
    before, _ = answer(target, source)  # also leaves the source world in the stand-ins
    serve_world(target, source)  # as it was before the run (no comment, fresh clocks)
    replay = tmp_path / "recorded-incident"
    shutil.copytree(SOURCE, replay)
    code = record.main([
        "--github-url", target.url("github"), "--repo", "demo-org/checkout-api",
        "--repo", "demo-org/payments-api", "--prometheus-url", target.url("prometheus"),
        "--alertmanager-url", target.url("alertmanager"), "--window", "12h", "--step", "60",
        *[arg for q in QUERIES for arg in ("--query", q)], "--out", str(replay / "world.yaml")])
    assert code == 0
    text = (replay / "world.yaml").read_text()
    assert "ghp_AAAA" not in text and "xoxb-1111" not in text
    assert "[REDACTED:github_token]" in text and "[REDACTED:slack_token]" in text
    recorded = yaml.safe_load(text)
    assert "extends" not in recorded and recorded["org"] == "demo-org"
    world = load_world(replay / "world.yaml")
    checkout = world.repos["checkout-api"]
    assert checkout.commits[0].sha.startswith("e15da5d") and checkout.runs[0].run_number == 6
    assert {a.name for a in world.alerts} >= {"HighErrorRate", "HighLatencyP99"}
    after, obs = answer(target, load_case(replay))
    assert after == before and len(after) == len(FACTS), after
    assert "ghp_AAAA" not in obs.evidence_text


def test_record_needs_a_source(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert record.main(["--out", str(tmp_path / "w.yaml")]) == 2
    assert "--github-url" in capsys.readouterr().err
