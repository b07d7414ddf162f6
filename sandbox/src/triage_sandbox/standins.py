"""Serve one sandbox stand-in as its own process: `python -m triage_sandbox.standins NAME`.

Each stand-in speaks the real payload shapes of the system it replaces, so the services'
real connectors (slack-sdk, PyGithub, httpx) are used unchanged against it."""

import argparse
import logging

import uvicorn
from fastapi import FastAPI

log = logging.getLogger("triage.sandbox")


def build(name: str, token: str | None, signing_secret: str | None = None) -> FastAPI:
    if name == "slack":
        from .channel.settings import ChannelSettings
        from .slack_api import build_slack_api

        # SANDBOX_SIGNING_SECRET / SANDBOX_INGRESS_URL / SANDBOX_APPROVAL_URL from the plan:
        # the channel page at `/` sends to the real ingress, signed as Slack would.
        return build_slack_api(bot_token=token or "xoxb-sandbox-token",
                               channel=ChannelSettings())
    if name == "github":
        from .github_api import build_github_api

        return build_github_api(token=token)
    if name == "prometheus":
        from .prometheus_api import build_prometheus_api

        return build_prometheus_api()
    raise SystemExit(f"unknown stand-in {name!r}: slack | github | prometheus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=["slack", "github", "prometheus"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=None, help="credential the stand-in expects")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The channel page logs each forwarded request itself ("SANDBOX slack: ..."); httpx's
    # own line per request would only repeat it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.warning("SANDBOX %s stand-in on http://%s:%s (not the real service)",
                args.name, args.host, args.port)
    if args.name == "slack":
        log.warning("SANDBOX Slack channel page: http://%s:%s/ (plays a Slack channel)",
                    args.host, args.port)
    uvicorn.run(build(args.name, args.token), host=args.host, port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
