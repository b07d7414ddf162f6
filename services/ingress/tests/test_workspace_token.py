"""A Workspace's `secretRefs.slack` takes effect in its own notifier: the notifier's settings
are built from exactly the environment the operator renders for the Workspace's notifier
Deployment (its Secrets resolved as the kubelet would), only the nats-server and Slack's
URL pointed at the test's. The Slack stand-in accepts one bot token only, so a reply that
lands proves which token the notifier used: the team's own, or (a Workspace without one)
the release's. The notifier drains the team's own consumer only."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from nats.js.errors import NotFoundError
from triage_contracts.testing.kube import container_env, data_by_name
from triage_operator.resources import Owner, configmap, deployment
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec
from triage_sandbox.slack_api import build_slack_api

from .conftest import BOT_USER, TEAM, SlackStandIn, serving
from .test_notifier import _count, request, results, send

TEAM_TOKEN = "xoxb-acme-own-app-0123456789"
RELEASE_TOKEN = "xoxb-release-app-9876543210"
OWNER = Owner(name="acme", namespace="triage", uid="u1")
SECRETS = {"acme-slack": {"SLACK_BOT_TOKEN": TEAM_TOKEN},
           "triage-slack": {"bot-token": RELEASE_TOKEN}}


def render(slack_api_url: str, **spec: Any) -> dict[str, str]:
    """The notifier container's environment as the operator writes it (with the chart's
    WORKER_* settings for the release's Slack app)."""
    ws = parse_spec(OWNER.name, {"teamId": TEAM, **spec})
    operator = OperatorSettings(  # type: ignore[call-arg]
        _env_file=None, worker_slack_secret="triage-slack", worker_slack_bot_token_key="bot-token",
        worker_slack_api_url=slack_api_url)
    worker = deployment(OWNER, ws, operator, "notifier")
    return container_env(worker, data_by_name([configmap(OWNER, ws)]), SECRETS)


@asynccontextmanager
async def slack_accepting(token: str) -> AsyncIterator[SlackStandIn]:
    """A Slack stand-in whose one valid bot token is `token` (any other: invalid_auth)."""
    app = build_slack_api(bot_token=token, bot_user_id=BOT_USER, team_id=TEAM)
    async with serving(app) as url:
        yield SlackStandIn(url, app.state.slack, token=token)


async def reply_once(env: dict[str, str], slack: SlackStandIn, start_ingress: Any,
                     wait_until: Any) -> None:
    assert (env["ROLE"], env["TEAM_SCOPE"]) == ("notifier", TEAM)
    notifier = await start_ingress(role=env["ROLE"], team_scope=env["TEAM_SCOPE"],
                                   slack_api_url=env["SLACK_API_URL"],
                                   slack_bot_token=env["SLACK_BOT_TOKEN"])
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1), within=30)
    [result] = await results(notifier)
    assert result.ok, result.error
    assert [m["text"] for m in slack.state.messages] == [request().text]
    await notifier.js.consumer_info("WORK", f"notifier-{TEAM}")  # its team's consumer
    with pytest.raises(NotFoundError):  # and not the shared, all-team one
        await notifier.js.consumer_info("WORK", "notifier")


async def test_the_workspaces_own_slack_token_posts_its_replies(start_ingress, wait_until
                                                                ) -> None:
    async with slack_accepting(TEAM_TOKEN) as slack:
        env = render(slack.api_url, secretRefs={"slack": "acme-slack"})
        assert env["SLACK_BOT_TOKEN"] == TEAM_TOKEN  # from envFrom, no release token beside
        await reply_once(env, slack, start_ingress, wait_until)


async def test_without_its_own_token_the_workspace_posts_with_the_releases(
        start_ingress, wait_until) -> None:
    async with slack_accepting(RELEASE_TOKEN) as slack:
        env = render(slack.api_url)
        await reply_once(env, slack, start_ingress, wait_until)


async def test_the_stand_in_refuses_a_token_it_does_not_know(start_ingress, wait_until
                                                             ) -> None:
    """The check above can fail: the team's token against a Slack that knows only the
    release's app is refused, and nothing is posted."""
    async with slack_accepting(RELEASE_TOKEN) as slack:
        env = render(slack.api_url, secretRefs={"slack": "acme-slack"})
        notifier = await start_ingress(role="notifier", team_scope=TEAM,
                                       slack_api_url=env["SLACK_API_URL"],
                                       slack_bot_token=env["SLACK_BOT_TOKEN"])
        await send(notifier, request())
        await wait_until(lambda: _count(notifier, 1), within=30)
        [result] = await results(notifier)
        assert not result.ok and result.error == "invalid_auth"
        assert slack.state.messages == []
