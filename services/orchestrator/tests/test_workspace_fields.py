"""A Workspace's `channels`, `tools`, `skills` and `githubRepos` take effect in its
orchestrator worker: the settings are built from exactly the environment the operator
renders (Deployment and ConfigMap, resolved as the kubelet would; only NATS and the grant
keys are the test's), and the app runs on the real nats-server with the test workers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from triage_contracts.testing.kube import container_env, data_by_name
from triage_operator.resources import Owner, configmap, deployment
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec
from triage_orchestrator.app import build_app
from triage_orchestrator.engine import REFUSAL
from triage_orchestrator.settings import PACKAGE_DIR, Settings
from triage_orchestrator.skills import load_skills
from triage_orchestrator.spec import ConfigError

from .conftest import make_settings
from .factories import REPO, TEAM, request
from .test_flow import finished
from .workers import Workers, wait_until

OWNER = Owner(name="acme", namespace="triage", uid="u1")
INCIDENT = next(s for s in load_skills(PACKAGE_DIR / "skills") if s.name == "incident")
SPEC: dict[str, Any] = {
    "teamId": TEAM, "channels": ["C1"], "githubRepos": [REPO],
    "tools": ["github.workflow_runs", "github.search_issues", "output.page"],
    "skills": [f"incident@{INCIDENT.sha256[:12]}", "general"],
}


def rendered_settings(nats_url: str, monkeypatch: pytest.MonkeyPatch, **spec: Any) -> Settings:
    ws = parse_spec(OWNER.name, {**SPEC, **spec})
    worker = deployment(OWNER, ws, OperatorSettings(_env_file=None), "orchestrator")  # type: ignore[call-arg]
    for name, value in container_env(worker, data_by_name([configmap(OWNER, ws)])).items():
        monkeypatch.setenv(name, value)
    test_only = make_settings(nats_url)  # the test's NATS and grant keys, nothing else
    return Settings(_env_file=None, nats_url=nats_url,  # type: ignore[call-arg]
                    grant_public_keys=test_only.grant_public_keys)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_a_run_offers_only_the_workspace_tools_and_skills(
        nats_url: str, workers: Workers, bus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = rendered_settings(nats_url, monkeypatch)
    assert settings.team_scope == TEAM
    async with running(settings) as app:
        skills = {s.name for s in app.state.orchestrator.skills}
        req = request()
        assert await bus.request(req)
        state = await finished(app, req.run_id)
    assert skills == {"incident", "general"}
    assert state.skill is not None and state.skill.name == "incident"
    offered = {t.name for c in workers.model_calls if c.step_id.startswith("investigate")
               for t in c.tools}
    assert offered and offered <= set(SPEC["tools"])
    assert "github.recent_commits" not in {c.tool for c in workers.tool_calls}


async def test_a_channel_outside_the_workspace_is_refused(
        nats_url: str, workers: Workers, bus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(rendered_settings(nats_url, monkeypatch)) as app:
        req = request(channel="C2", event_id="Ev-other-channel")
        assert await bus.request(req)
        state = await finished(app, req.run_id)
        await wait_until(lambda: [n for n in workers.notifies if n.run_id == req.run_id])
    assert state.refused and state.draft == REFUSAL
    assert [f.message for f in state.findings if f.code == "channel"] == [
        "channel C2 is not in ALLOWED_CHANNELS"]
    assert not [c for c in workers.model_calls if c.run_id == req.run_id]


def test_a_skill_pinned_to_another_hash_stops_the_worker(
        nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = rendered_settings(nats_url, monkeypatch, skills=["incident@" + "0" * 12,
                                                               "general"])
    with pytest.raises(ConfigError, match="pinned to 000000000000"):
        load_skills(settings.skills_dir, settings.skills)
