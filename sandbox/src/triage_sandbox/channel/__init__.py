"""The sandbox channel page: a browser page that plays a Slack channel on top of the Slack
Web API stand-in. People type mentions, DMs and `/triage` commands and click the bot's
buttons; the page's backend sends them, signed like Slack, to the real ingress, and shows
the bot's messages live as they reach the stand-in. Sandbox only, and labelled so."""

from fastapi import FastAPI

from . import compose, interact, page, stream
from .ingress import IngressLink
from .settings import ChannelSettings


def install_channel(app: FastAPI, settings: ChannelSettings) -> None:
    """Add the page and its backend to the stand-in app (its workspace: `app.state.slack`)."""
    app.state.ingress_link = IngressLink(settings)
    for module in (page, stream, compose, interact):
        app.include_router(module.router)
