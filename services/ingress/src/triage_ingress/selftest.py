"""`python -m triage_ingress selftest`: what `helm test` runs inside the cluster after an
install or upgrade, from a pod of the release (the chart's templates/tests).

Three questions a platform team asks after `helm upgrade`, each answered from outside the
services (the way Slack and the pods see them), never from their own logs:
- is every component ready? (`GET /readyz` of each component's Service);
- is NATS reachable with JetStream on? (the server's INFO line, sent on connect before any
  authentication, so the test pod needs no NATS credentials);
- does the ingress accept what Slack signs and refuse what it does not? (a signed
  `url_verification` challenge must come back; the same body with a wrong signature and with
  a stale timestamp must be refused with 401).

The signing secret is read from the environment (SLACK_SIGNING_SECRET, mounted from the
release's Secret) and never printed. Exit status 0 only when every check passed.
"""

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

import httpx
from slack_sdk.signature import SignatureVerifier

EVENTS_PATH = "/slack/events"
# Older than Slack's 5-minute replay window (the ingress refuses beyond its tolerance).
STALE_S = 3600


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def ready(http: httpx.AsyncClient, name: str, base_url: str) -> Check:
    url = f"{base_url.rstrip('/')}/readyz"
    try:
        resp = await http.get(url)
    except httpx.HTTPError as exc:
        return Check(f"ready {name}", False, f"{url} unreachable ({type(exc).__name__})")
    return Check(f"ready {name}", resp.status_code == 200, f"{url} answered {resp.status_code}")


def _nats_address(url: str) -> tuple[str, int]:
    first = urlsplit(url.split(",")[0].strip())
    return first.hostname or "localhost", first.port or 4222


async def nats_reachable(url: str, timeout: float) -> Check:
    """The INFO line a NATS server sends every new connection says whether JetStream is on."""
    host, port = _nats_address(url)
    where = f"{host}:{port}"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return Check("nats", False, f"{where} unreachable ({type(exc).__name__})")
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except TimeoutError:
        return Check("nats", False, f"{where} accepted the connection but sent no INFO")
    finally:
        writer.close()
    if not line.startswith(b"INFO "):
        return Check("nats", False, f"{where} is not a NATS server (no INFO line)")
    try:
        info = json.loads(line[5:])
    except ValueError:
        return Check("nats", False, f"{where} sent an INFO line that is not JSON")
    if not info.get("jetstream"):
        return Check("nats", False, f"{where} answers but JetStream is not enabled")
    return Check("nats", True, f"{where} answers, server {info.get('version', '?')}, "
                               "JetStream enabled")


def _signed(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    ts = str(timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or ""}


async def signature_path(http: httpx.AsyncClient, ingress_url: str,
                         signing_secret: str) -> list[Check]:
    url = f"{ingress_url.rstrip('/')}{EVENTS_PATH}"
    challenge = secrets.token_urlsafe(16)
    body = json.dumps({"type": "url_verification", "challenge": challenge}).encode()
    now = int(time.time())
    cases = (
        ("signed challenge answered", _signed(signing_secret, body, now), 200),
        ("wrong signature refused", _signed(signing_secret + "-not-it", body, now), 401),
        ("stale timestamp refused", _signed(signing_secret, body, now - STALE_S), 401),
    )
    checks = []
    for name, headers, expected in cases:
        try:
            resp = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            checks.append(Check(name, False, f"{url} unreachable ({type(exc).__name__})"))
            continue
        ok = resp.status_code == expected
        if ok and expected == 200:
            ok = _echoed(resp, challenge)
        checks.append(Check(name, ok, f"{url} answered {resp.status_code}, expected "
                                      f"{expected}" + ("" if ok or expected != 200
                                                       else " echoing the challenge")))
    return checks


def _echoed(resp: httpx.Response, challenge: str) -> bool:
    try:
        return bool(resp.json().get("challenge") == challenge)
    except ValueError:
        return False


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m triage_ingress selftest",
                                description="helm test: readiness, NATS, Slack signatures")
    p.add_argument("--ready", action="append", default=[], metavar="NAME=URL",
                   help="a component whose GET URL/readyz must answer 200 (repeatable)")
    p.add_argument("--nats", help="NATS URL whose server must answer with JetStream on")
    p.add_argument("--ingress", help="the ingress base URL whose Slack signature check is "
                                     "exercised (needs SLACK_SIGNING_SECRET)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    return p


async def run(args: argparse.Namespace, signing_secret: str | None) -> list[Check]:
    checks: list[Check] = []
    async with httpx.AsyncClient(timeout=args.timeout) as http:
        for entry in args.ready:
            name, _, url = entry.partition("=")
            checks.append(await ready(http, name, url))
        if args.nats:
            checks.append(await nats_reachable(args.nats, args.timeout))
        if args.ingress:
            if not signing_secret:
                checks.append(Check("signature path", False,
                                    "SLACK_SIGNING_SECRET is not set in this pod"))
            else:
                checks += await signature_path(http, args.ingress, signing_secret)
    return checks


def main(argv: Sequence[str], out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(list(argv))
    checks = asyncio.run(run(args, os.environ.get("SLACK_SIGNING_SECRET")))
    for check in checks:
        print(check.line(), file=out)
    if not checks:
        print("FAIL nothing to check: pass --ready, --nats or --ingress", file=out)
        return 2
    failed = sum(not c.ok for c in checks)
    print(f"{len(checks) - failed}/{len(checks)} checks passed", file=out)
    return 1 if failed else 0
