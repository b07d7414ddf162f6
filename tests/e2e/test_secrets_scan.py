"""A secrets scan after a full run: the whole stack with real-looking credentials (a GitHub
token the GitHub stand-in requires, the bot token, the model key, the signing secret, the
service token), a question that itself pastes a token of every known shape, an approved
write, and a workspace installed through the OAuth flow (its bot token sealed by the
connector vault); then every place a secret could leak is searched — the services' logs (at
DEBUG), the audit database and its API, the ingress's installation database, what the model
was sent (the prompts), the exported traces (a real OTLP/HTTP collector stand-in), and what
was posted in Slack. The figure is the number of occurrences: it must be zero."""

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from triage_contracts.testing.natsserver import free_port, wait_for_port
from triage_ingress.vault import new_key_entry
from triage_sandbox.plan import SANDBOX_TEAM, make_plan
from triage_sandbox.stack import Stack

from .helpers import mention, thread_messages, wait_for
from .test_approval_path import decide, pending_approval

GITHUB_TOKEN = "ghp_" + "S3cretScan" * 4
PASTED = "ghp_" + "PastedInQuestion" * 3
# Every other shape the redaction knows, pasted into the question as someone might.
SLACK_REFRESH = "xoxe-1-My0xLTE3MjU0NDEyNDItUGFzdGVkUmVmcmVzaA"
SLACK_ROTATING = "xoxe.xoxp-1-Mi0yLTE3MjU0NDEyNDItUGFzdGVkUm90YXRpbmc"
SLACK_APP = "xapp-1-A0SCAN12345-1732540000000-5f2c9a8b7d6e4f3a2b1c"
JWT = ("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJVX1NDQU4iLCJ0ZWFtIjoiVDAifQ"
       ".UGFzdGVkSnd0U2lnbmF0dXJlQnl0ZXNGb3JUaGVTY2Fu")
PEM_BODY = "MC4CAQAwBQYDK2VwBCIEIFBhc3RlZFByaXZhdGVLZXlGb3JUaGVTZWNyZXRzU2Nhbg"
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"
# The sandbox Slack's OAuth app; the bot token it issues at install starts with this.
CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
INSTALLED_TOKEN_PREFIX = "xoxb-sandbox-t0scan-"
QUESTION = (f"why is checkout-api failing? (my token is {PASTED}, do not share it; the "
            f"app has {SLACK_APP}, refresh {SLACK_REFRESH} and {SLACK_ROTATING}, a session "
            f"{JWT} and this key:\n{PEM}\n)")


@pytest.fixture
def otlp(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A collector process writing every export request into a folder."""
    port, out = free_port(), tmp_path / "otlp"
    out.mkdir()
    script = tmp_path / "collector.py"
    script.write_text(
        "import sys, uvicorn\nfrom fastapi import FastAPI, Request, Response\n"
        "app = FastAPI()\ncount = [0]\n"
        "@app.post('/v1/traces')\nasync def t(r: Request) -> Response:\n"
        "    count[0] += 1\n"
        f"    open('{out}/%d.bin' % count[0], 'wb').write(await r.body())\n"
        "    return Response(status_code=200)\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n")
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    wait_for_port(port, timeout=60)
    try:  # ready means answering: exports sent before that would be lost
        probe = httpx.post(f"http://127.0.0.1:{port}/v1/traces", content=b"probe", timeout=10)
        assert probe.status_code == 200 and (out / "1.bin").read_bytes() == b"probe"
        (out / "1.bin").unlink()
        yield f"http://127.0.0.1:{port}", out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


@pytest.fixture
def github_with_token(tmp_path: Path) -> Iterator[str]:
    """The GitHub stand-in requiring the real-looking token (a wrong one is a 401)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "triage_sandbox.standins", "github",
                             "--port", str(port), "--token", GITHUB_TOKEN, "--world", "oncall"],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def occurrences(haystacks: dict[str, bytes], secrets: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, secret in secrets.items():
        where = [place for place, data in haystacks.items() if secret.encode() in data]
        if where:
            found[name] = where
    return found


def test_no_secret_reaches_logs_audit_prompts_traces_or_slack(
        tmp_path: Path, otlp: tuple[str, Path], github_with_token: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, exported = otlp
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    env = {"LOG_LEVEL": "DEBUG", "SANDBOX_MODEL": "scripted", "GITHUB_TOKEN": GITHUB_TOKEN,
           "GITHUB_API_URL": github_with_token,
           "GITHUB_REPOS": "demo-org/checkout-api,demo-org/payments-api"}
    plan = make_plan(env, tmp_path / "data", fixed_ports=False)
    # The OAuth install flow on the ingress (the children inherit this environment; the
    # other services ignore these variables, audit and approval keep their own databases).
    for name, value in {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                        "SLACK_OAUTH_URL": plan.process("slack").url + "/sandbox/oauth/authorize",
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'ingress.db'}",
                        "VAULT_MASTER_KEYS": new_key_entry("scan")}.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    stack = Stack(plan, out=out).start(timeout=90)
    try:
        httpx.post(plan.process("openai").url + "/sandbox/script", timeout=5, json={"rules": [
            {"match": {"user_contains": "<context>", "turn": 1}, "reply": {"tool_calls": [
                {"id": "c1", "name": "github_workflow_runs",
                 "arguments": json.dumps({"repo": "demo-org/checkout-api"})},
                {"id": "c2", "name": "github_comment_issue", "arguments": json.dumps(
                    {"repo": "demo-org/checkout-api", "issue_number": 42,
                     "body": "CI is red since e15da5d."})}]}},
            {"match": {"user_contains": "<context>", "turn": 2},
             "reply": {"content": "CI is red since e15da5d; a comment awaits approval."}},
            {"match": {"user_contains": "</question>", "turn": 1},  # classify, last
             "reply": {"content": "incident"}}]})
        payload = mention(stack, QUESTION)
        approval = wait_for(lambda: pending_approval(stack), timeout=90)
        assert decide(stack, approval["approval_id"], "U_APPROVER", "approve").status_code == 200
        thread_ts = payload["event"]["ts"]
        wait_for(lambda: [m for m in thread_messages(stack, thread_ts)
                          if "Commented on" in m.get("text", "")], timeout=90)
        with httpx.Client(follow_redirects=True, timeout=20) as browser:
            installed = browser.get(plan.process("ingress").url + "/slack/install",
                                    params={"team": "T0SCAN"})
        assert installed.status_code == 200 and "Thank you!" in installed.text
        audit = plan.process("audit").url
        haystacks = {
            "logs": out.getvalue().encode(),
            "ingress database": (tmp_path / "ingress.db").read_bytes(),
            "audit database": (tmp_path / "data" / "audit.db").read_bytes(),
            "audit API": httpx.get(f"{audit}/audit/{SANDBOX_TEAM}/events",
                                   params={"limit": 1000}, timeout=10).content,
            "prompts": httpx.get(plan.process("openai").url + "/sandbox/requests",
                                 timeout=5).content,
            "slack": httpx.get(plan.process("slack").url + "/sandbox/messages",
                               timeout=5).content,
        }
    finally:
        stack.stop()  # flushes the batched span exports
        (tmp_path / "stack.log").write_text(out.getvalue())
    wait_for(lambda: list(exported.glob("*.bin")), timeout=30)
    haystacks["traces"] = b"".join(p.read_bytes() for p in sorted(exported.glob("*.bin")))
    secrets = {"github token": GITHUB_TOKEN, "token pasted in the question": PASTED,
               "slack refresh token": SLACK_REFRESH, "rotating token": SLACK_ROTATING,
               "slack app token": SLACK_APP, "jwt": JWT, "private key body": PEM_BODY,
               # Slack's own (rotating-token) prefix form: "xoxe." must go with the rest.
               "refresh token tail": SLACK_ROTATING.split(".", 1)[1],
               "slack bot token": plan.bot_token, "slack signing secret": plan.signing_secret,
               "model key": plan.model_token, "service token": plan.service_token,
               "installed bot token": INSTALLED_TOKEN_PREFIX, "slack client secret": CLIENT_SECRET,
               # The body of the throwaway grant key's PEM (what would leak if it did).
               "grant signing key": plan.process("approval").env[
                   "GRANT_SIGNING_KEY"].splitlines()[1]}
    assert all(haystacks.values()), {k: len(v) for k, v in haystacks.items()}
    assert b"vault:1:scan:" in haystacks["ingress database"]  # installed, and sealed
    # Each planted shape was there, and redacted.
    for kind in ("github_token", "slack_token", "slack_app_token", "jwt", "private_key"):
        assert f"[REDACTED:{kind}]".encode() in haystacks["prompts"], kind
    assert occurrences(haystacks, secrets) == {}
