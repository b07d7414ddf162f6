"""Serve one sandbox stand-in as its own process: `python -m triage_sandbox.standins NAME`.

Each stand-in speaks the real payload shapes of the system it replaces, so the services'
real connectors (slack-sdk, PyGithub, httpx, the openai SDK) are used unchanged against
it. GitHub, Prometheus and Alertmanager tell the story of one world: the demo by default,
or the world file given with `--world` (or `SANDBOX_WORLD`), by path or packaged name
(`demo`, `oncall`). Started with SANDBOX_CONTROL_TOKEN, those three also take a new world
while running (`PUT /sandbox/world`, `world_control.py`), as evals do per case."""

import argparse
import logging
import os

import uvicorn
from fastapi import FastAPI

from .world import WorldError
from .world_control import CONTROL_ENV

log = logging.getLogger("triage.sandbox")
NAMES = ("slack", "github", "prometheus", "alertmanager", "openai")


def build(name: str, token: str | None, signing_secret: str | None = None,
          world: str | None = None) -> FastAPI:
    if name == "slack":
        from .channel.settings import ChannelSettings
        from .slack_api import build_slack_api

        # SANDBOX_SIGNING_SECRET / SANDBOX_INGRESS_URL / SANDBOX_APPROVAL_URL from the plan:
        # the channel page at `/` sends to the real ingress, signed as Slack would.
        return build_slack_api(bot_token=token or "xoxb-sandbox-token",
                               channel=ChannelSettings())
    if name == "openai":
        from .openai_api import build_openai_api

        return build_openai_api(token=token)
    if name not in NAMES:
        raise SystemExit(f"unknown stand-in {name!r}: {' | '.join(NAMES)}")
    from .demo_data import build_demo

    try:
        story = build_demo(world=world or "demo")
    except WorldError as exc:
        raise SystemExit(f"SANDBOX {name}: {exc}") from None
    control = os.environ.get(CONTROL_ENV) or None
    if name == "github":
        from .github_api import build_github_api

        return build_github_api(token=token, demo=story, control_token=control)
    if name == "prometheus":
        from .prometheus_api import build_prometheus_api

        return build_prometheus_api(story, control_token=control)
    from .alertmanager_api import build_alertmanager_api

    return build_alertmanager_api(story, control_token=control)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=None, help="credential the stand-in expects")
    parser.add_argument("--world", default=os.environ.get("SANDBOX_WORLD") or None,
                        help="world file (path or packaged name); default: SANDBOX_WORLD, "
                             "else the demo story")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The channel page logs each forwarded request itself ("SANDBOX slack: ..."); httpx's
    # own line per request would only repeat it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = build(args.name, args.token, world=args.world)
    log.warning("SANDBOX %s stand-in on http://%s:%s (not the real service)%s",
                args.name, args.host, args.port,
                f", world {args.world}" if args.world and args.name not in ("slack", "openai")
                else "")
    if args.name == "slack":
        log.warning("SANDBOX Slack channel page: http://%s:%s/ (plays a Slack channel)",
                    args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
