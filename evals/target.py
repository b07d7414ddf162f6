"""The stack under evaluation and how a case's question reaches it.

Questions enter exactly as Slack delivers them: signed Events API or slash-command
requests to the real ingress. Mock mode points at a sandbox stack this process started;
live mode reads `.triage/dev.json` (written by `scripts/dev`), so the same cases run
against whatever that stack is connected to, real credentials included.
"""

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from triage_contracts.ids import stable_id
from triage_sandbox.dev import load_env
from triage_sandbox.plan import SANDBOX_TEAM
from triage_sandbox.slack_events import (
    app_mention,
    direct_message,
    event_body,
    signed_headers,
    slash_command_body,
    thread_reply,
)
from triage_sandbox.stack import Stack

from .cases import Case, Kind
from .slack_reader import RealSlack, SandboxSlack, SlackReader

DEFAULT_CHANNEL = "C_TRIAGE"
SANDBOX_APPROVER = "U_APPROVER"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Target:
    mode: str  # mock | live
    urls: dict[str, str]
    team_id: str
    channel: str
    signing_secret: str = field(repr=False)
    slack: SlackReader
    approver: str = SANDBOX_APPROVER
    audit_token: str | None = field(default=None, repr=False)
    # The world stand-ins' control token (mock mode): cases bring their own world.
    control_token: str | None = field(default=None, repr=False)
    agent: str = "offline"  # who answers on this stack: offline | scripted | real
    approval_ttl_s: float | None = None  # set when the stack was started with a short TTL
    # The stack's own tokens (mock mode): no output may ever contain one (attack scoring).
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def per_case_worlds(self) -> bool:
        return self.control_token is not None

    def url(self, service: str) -> str:
        return self.urls[service].rstrip("/")

    @property
    def audit_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.audit_token}"} if self.audit_token else {}


@dataclass(frozen=True)
class Sent:
    """A question delivered to ingress: where its run lives and where answers belong."""

    run_id: str
    channel: str
    thread_ts: str | None
    started: float  # time.monotonic() just before sending


def from_stack(stack: Stack, agent: str | None = None,
               approval_ttl_s: float | None = None) -> Target:
    plan = stack.plan
    urls = {p.name: p.url for p in plan.processes}
    kind = agent or ("scripted" if plan.scripted_model else
                     "offline" if plan.sandboxed["models"] else "real")
    return Target(mode="mock", urls=urls, team_id=SANDBOX_TEAM, channel=DEFAULT_CHANNEL,
                  signing_secret=plan.signing_secret, slack=SandboxSlack(urls["slack"]),
                  control_token=plan.control_token or None, agent=kind,
                  approval_ttl_s=approval_ttl_s,
                  secrets=tuple(filter(None, (plan.signing_secret, plan.bot_token,
                                              plan.service_token, plan.model_token,
                                              plan.control_token))))


def from_dev_json(path: Path, env: dict[str, str], channel: str | None = None,
                  team: str | None = None, approver: str | None = None) -> Target:
    """A running `scripts/dev` stack. With the sandbox Slack everything needed is in the
    state file; with real Slack the signing secret and bot token come from the
    environment (or `.env`), and the team and channel must be named."""
    if not path.exists():
        raise RuntimeError(f"{path} not found: start the stack with scripts/dev first")
    state = json.loads(path.read_text())
    urls: dict[str, str] = state["urls"]
    sandboxed_slack = bool(state.get("sandboxed", {}).get("slack"))
    if sandboxed_slack:
        secret, reader = state.get("sandbox_signing_secret", ""), SandboxSlack(urls["slack"])
        slack: SlackReader = reader
    else:
        secret = env.get("SLACK_SIGNING_SECRET", "")
        token = env.get("SLACK_BOT_TOKEN", "")
        if not (secret and token and team and channel):
            raise RuntimeError("live mode with real Slack needs SLACK_SIGNING_SECRET and "
                               "SLACK_BOT_TOKEN in the environment and --team / --channel")
        slack = RealSlack(token, env.get("SLACK_API_URL", "https://slack.com/api/"))
    models = state.get("sandboxed", {}).get("models", True)
    agent = "real" if not models else "scripted" if "openai" in urls else "offline"
    return Target(mode="live", urls=urls, team_id=team or SANDBOX_TEAM,
                  channel=channel or DEFAULT_CHANNEL, signing_secret=secret, slack=slack,
                  approver=approver or env.get("EVAL_APPROVER") or SANDBOX_APPROVER,
                  audit_token=env.get("AUDIT_API_TOKEN") or None, agent=agent)


def send(target: Target, case: Case, text: str | None = None) -> Sent:
    """Deliver the case's question (or one of its variants) the way Slack would; raises
    when ingress refuses it."""
    user, text = case.spec.user, case.text if text is None else text
    started = time.monotonic()
    if case.spec.kind is Kind.COMMAND:
        trigger = uuid.uuid4().hex
        body = slash_command_body(target.team_id, target.channel, user, text, trigger)
        _post(target, "/slack/commands", body, FORM)
        # How ingress names a command's run (a slash command has no event id of its own).
        event_id = stable_id("cmd-", target.team_id, trigger)
        return Sent(stable_id("run-", target.team_id, event_id), target.channel, None, started)
    if case.spec.kind is Kind.DM:
        channel = target.slack.dm_channel(user)
        ts = target.slack.open_thread(channel, user, text)
        payload = direct_message(target.team_id, channel, user, text, ts=ts)
    else:
        channel = target.channel
        ts = target.slack.open_thread(channel, user, text)
        payload = app_mention(target.team_id, channel, user, text, ts=ts)
    _post(target, "/slack/events", event_body(payload), JSON)
    run_id = stable_id("run-", target.team_id, str(payload["event_id"]))
    return Sent(run_id, channel, ts, started)


def send_follow_up(target: Target, case: Case, channel: str, thread_ts: str,
                   text: str) -> Sent:
    """A question typed in the thread of an earlier answer, as a plain thread message
    (no mention): the way people ask on."""
    started = time.monotonic()
    payload = thread_reply(target.team_id, channel, case.spec.user, text, thread_ts)
    _post(target, "/slack/events", event_body(payload), JSON)
    run_id = stable_id("run-", target.team_id, str(payload["event_id"]))
    return Sent(run_id, channel, thread_ts, started)


def _post(target: Target, path: str, body: bytes, content_type: str) -> None:
    headers = signed_headers(target.signing_secret, body, content_type)
    resp = httpx.post(target.url("ingress") + path, content=body, headers=headers, timeout=10)
    if resp.status_code != 200:
        raise RuntimeError(f"ingress answered {resp.status_code}: {resp.text[:300]}")


def live_env() -> dict[str, str]:
    """The environment over `.env`, as `scripts/dev` reads it."""
    return dict(load_env())
