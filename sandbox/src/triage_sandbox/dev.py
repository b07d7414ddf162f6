"""`triage-dev`: run the whole stack locally (`triage-dev` / `triage-dev run`), or put a
question to a running sandbox (`triage-dev ask "why is checkout-api failing?"`)."""

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from dotenv import dotenv_values

from .chaos.serve import ChaosServer
from .plan import SANDBOX_TEAM, make_plan
from .slack_events import app_mention, event_body, signed_headers
from .stack import Stack, data_dir_default

STATE_FILE = "dev.json"


def load_env() -> dict[str, str]:
    """The process environment over `.env` (the environment wins, as in the services)."""
    file_values = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**file_values, **os.environ}


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    env = load_env()
    plan = make_plan(env, data_dir, fixed_ports=not args.random_ports)
    stack = Stack(plan, colour=sys.stdout.isatty())
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("Starting the triage stack:", *("  " + line for line in plan.describe()), sep="\n")
    try:
        stack.start()
        chaos = ChaosServer(stack, plan.chaos_port).start()
    except (RuntimeError, TimeoutError) as exc:
        stack.stop()
        print(f"\nstart-up failed: {exc}", file=sys.stderr)
        return 1
    _write_state(plan, stack)
    _print_next_steps(plan, stack, grant_configured=bool(env.get("GRANT_SIGNING_KEY")))
    stop.wait()
    print("\nStopping…", flush=True)
    chaos.stop()
    stack.stop()
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return 0


def _write_state(plan, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    state = {
        "nats_url": stack.nats_url,
        "urls": {p.name: p.url for p in plan.processes},
        "chaos_url": f"http://127.0.0.1:{plan.chaos_port}",
        "sandboxed": plan.sandboxed,
    }
    if plan.sandboxed["slack"]:
        # Sandbox only: lets `triage-dev ask` sign requests like Slack would.
        state["sandbox_signing_secret"] = plan.signing_secret
    path = plan.data_dir / STATE_FILE
    path.write_text(json.dumps(state, indent=2))
    path.chmod(0o600)


def _identities(plan, stack: Stack, grant_configured: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """The development identities this start made up: said once, plainly, so nobody
    mistakes them for a production set-up (production refuses every one of them)."""
    approval = plan.process("approval").env
    grant = ("the configured GRANT_SIGNING_KEY" if grant_configured
             else "a throwaway Ed25519 pair made for this start")
    lines = ["Identities of this start (the development ones are refused in production):",
             f"  Grant key      {grant}, key id {approval.get('GRANT_SIGNING_KEY_ID', '?')};",
             "                 private half in the approval process only"]
    if stack.nats_passwords:
        users = ", ".join(sorted(stack.nats_passwords))
        lines += [f"  NATS users     {users}",
                  "                 one per service, fresh random passwords (not printed)"]
    else:
        lines += ["  NATS users     none: NATS_URL is yours, services use NATS_USER/NATS_PASSWORD"]
    if approval.get("DEV_IDENTITY") == "true":
        lines += ["  Approvers      DEV_IDENTITY: the approval page lets you act as any sandbox",
                  "                 user (no login)"]
    return lines + [""]


def _print_next_steps(plan, stack: Stack,  # type: ignore[no-untyped-def]
                      grant_configured: bool) -> None:
    urls = {p.name: p.url for p in plan.processes}
    lines = ["", "The triage stack is up. Ctrl-C stops everything.", "",
             f"  Slack events   {urls['ingress']}/slack/events  (commands: /slack/commands)",
             f"  Approvals UI   {urls['approval']}/",
             f"  Audit API      {urls['audit']}/audit/teams",
             f"  NATS           {stack.nats_url}",
             f"  Chaos page     http://127.0.0.1:{plan.chaos_port}/  (kill or restart a service,"
             " watch what waits)", ""]
    lines += _identities(plan, stack, grant_configured)
    if plan.sandboxed["slack"]:
        lines += ["SANDBOX: no Slack credentials found, so Slack, and every system without",
                  "credentials, is played by a local stand-in with demo data.", "",
                  f"  Open the sandbox Slack channel:  {urls['slack']}/",
                  "  pick who you are, and ask: @triage why is checkout-api failing?", "",
                  "  or from a terminal:",
                  '  scripts/dev ask "why is checkout-api failing?"']
    else:
        lines += ["Point your Slack app's Event Subscriptions and slash command at the URLs",
                  "above (through a public tunnel or ingress)."]
    print("\n".join(lines), flush=True)


def ask(args: argparse.Namespace) -> int:
    state_path = Path(args.data_dir).resolve() / STATE_FILE
    if not state_path.exists():
        print("no running dev stack found: start it with scripts/dev", file=sys.stderr)
        return 2
    state = json.loads(state_path.read_text())
    secret = state.get("sandbox_signing_secret")
    if not secret:
        print("`ask` only works against the sandbox Slack", file=sys.stderr)
        return 2
    payload = app_mention(SANDBOX_TEAM, args.channel, args.user, args.question)
    body = event_body(payload)
    ingress, slack = state["urls"]["ingress"], state["urls"]["slack"]
    resp = httpx.post(f"{ingress}/slack/events", content=body,
                      headers=signed_headers(secret, body, "application/json"), timeout=10)
    print(f"ingress answered {resp.status_code}")
    thread_ts = payload["event"]["ts"]  # type: ignore[index]
    return _wait_for_reply(slack, thread_ts, args.timeout)


def _wait_for_reply(slack: str, thread_ts: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [m for m in httpx.get(f"{slack}/sandbox/messages", timeout=5).json()
                   if m.get("thread_ts") == thread_ts]
        if replies:
            print(f"\n--- the bot replied in the thread ---\n{readable(replies[0])}")
            return 0
        time.sleep(0.5)
    print("no reply yet; see the stack's logs", file=sys.stderr)
    return 1


def readable(message: dict[str, object]) -> str:
    """The message as a person reads it in Slack: block texts, buttons as [labels]."""
    lines: list[str] = []
    blocks: Any = message.get("blocks") or []
    for block in blocks:
        if block.get("type") == "section":
            lines.append(block["text"]["text"])
        elif block.get("type") == "context":
            lines += [e.get("text", "") for e in block["elements"]]
        elif block.get("type") == "actions":
            lines.append("  ".join(f"[{e['text']['text']}]" for e in block["elements"]))
    return "\n".join(lines) or str(message.get("text", ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="triage-dev", description=__doc__)
    parser.add_argument("--data-dir", default=str(data_dir_default()))
    sub = parser.add_subparsers(dest="command")
    run_p = sub.add_parser("run", help="start the whole stack (the default)")
    run_p.add_argument("--random-ports", action="store_true", help="never use the fixed ports")
    ask_p = sub.add_parser("ask", help="ask the sandbox bot a question, as a Slack mention")
    ask_p.add_argument("question")
    ask_p.add_argument("--user", default="U_REQUESTER")
    ask_p.add_argument("--channel", default="C_TRIAGE")
    ask_p.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.command == "ask":
        sys.exit(ask(args))
    if args.command is None:
        args.random_ports = False
    sys.exit(run(args))


if __name__ == "__main__":
    main()
