"""Slack's OAuth v2 install flow, so one deployment serves many workspaces.

`GET /slack/install` issues a state (slack-sdk's state store), binds it to the browser with
a cookie and sends the person to Slack's consent page (slack-sdk's AuthorizeUrlGenerator).
`GET /slack/oauth_redirect` accepts only a fresh, unused state from that same browser (a
forged or replayed state would let someone attach their workspace to another person's
install), exchanges the code, saves the Installation, audits it — never the token — and announces
it on INSTALLS so the install controller can deploy the workspace (`install_events.py`).
"""

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from faststream.nats import NatsBroker
from slack_sdk.oauth import AuthorizeUrlGenerator, OAuthStateUtils, RedirectUriPageRenderer
from slack_sdk.oauth.installation_store import Installation
from triage_contracts.audit import AuditEmitter
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import new_id
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind

from . import install_events
from .clients.slack_oauth import OAuthRefused, SlackOAuth
from .installations import STATE_TTL_S, Stores
from .settings import Settings

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
_TEAM = re.compile(r"^[A-Z0-9]{1,32}$")
log = get_logger("triage.ingress.oauth")
router = APIRouter()


class OAuthFlow:
    def __init__(self, settings: Settings, stores: Stores, slack: SlackOAuth,
                 audit: AuditEmitter, broker: NatsBroker) -> None:
        self.settings = settings
        self.broker = broker
        self.stores = stores
        self.slack = slack
        self.audit = audit
        self.cookies = OAuthStateUtils(expiration_seconds=STATE_TTL_S)
        self.pages = RedirectUriPageRenderer(install_path=INSTALL_PATH,
                                             redirect_uri_path=REDIRECT_PATH)

    def redirect_uri(self, request: Request) -> str:
        return self.settings.slack_redirect_uri or str(request.url_for("slack_oauth_redirect"))

    def authorize_url(self, request: Request, state: str, team: str | None) -> str:
        scopes = [s.strip() for s in self.settings.slack_scopes.split(",") if s.strip()]
        generator = AuthorizeUrlGenerator(
            client_id=self.settings.slack_client_id or "", scopes=scopes,
            redirect_uri=self.redirect_uri(request),
            authorization_url=self.settings.slack_oauth_url)
        return generator.generate(state, team=team if team and _TEAM.match(team) else None)

    def failure(self, reason: str, status: int = 400) -> HTMLResponse:
        log.warning("slack install refused", reason=reason)
        response = HTMLResponse(self.pages.render_failure_page(reason), status)
        response.delete_cookie(self.cookies.cookie_name, path="/")
        return response

    async def refused(self, installation: Installation, reason: str) -> None:
        """An install Slack completed but this deployment does not accept (audited: an
        admin sees who tried; the token is dropped unused)."""
        team = installation.team_id or installation.enterprise_id or ""
        await self.audit.emit(
            team, new_id("install-"), AuditKind.REQUEST, "slack.install",
            actor=installation.user_id, outcome="denied",
            detail={"reason": reason, "team_name": installation.team_name,
                    "enterprise_id": installation.enterprise_id})

    async def record(self, installation: Installation) -> None:
        team = installation.team_id or installation.enterprise_id or ""
        await self.audit.emit(
            team, new_id("install-"), AuditKind.REQUEST, "slack.install",
            actor=installation.user_id,
            detail={"team_name": installation.team_name, "app_id": installation.app_id,
                    "enterprise_id": installation.enterprise_id,
                    "bot_user_id": installation.bot_user_id,
                    "scopes": list(installation.bot_scopes or [])})


def _flow(request: Request) -> OAuthFlow:
    flow: OAuthFlow = request.app.state.oauth
    return flow


@router.get(INSTALL_PATH)
async def slack_install(request: Request, team: str | None = None) -> Response:
    flow = _flow(request)
    state = await flow.stores.issue_state()
    response = RedirectResponse(flow.authorize_url(request, state, team), status_code=302)
    # Secure only over https, else a local http sandbox could never complete an install.
    response.set_cookie(flow.cookies.cookie_name, state, max_age=STATE_TTL_S, path="/",
                        httponly=True, secure=request.url.scheme == "https", samesite="lax")
    return response


@router.get(REDIRECT_PATH, name="slack_oauth_redirect")
async def slack_oauth_redirect(request: Request, code: str | None = None,
                               state: str | None = None, error: str | None = None) -> Response:
    flow = _flow(request)
    if error:  # the person pressed Cancel on Slack's consent page
        return flow.failure(error)
    if not code or not state:
        return flow.failure("missing_code_or_state")
    if not flow.cookies.is_valid_browser(state, dict(request.headers)):
        return flow.failure("invalid_browser")
    if not await flow.stores.consume_state(state):
        return flow.failure("invalid_state")
    try:
        installation = await flow.slack.exchange(code, flow.redirect_uri(request))
    except OAuthRefused as exc:
        return flow.failure(exc.error)
    except TemporaryError as exc:
        log.warning("slack unreachable during install", reason=str(exc))
        return flow.failure("slack_unavailable_try_again", status=502)
    if not installation.team_id and not installation.enterprise_id:
        return flow.failure("no_team_in_answer")
    if not flow.settings.install_allowed(installation.team_id, installation.enterprise_id):
        await flow.refused(installation, "team_not_allowed")
        return flow.failure("team_not_allowed", status=403)
    await flow.stores.save(installation)
    await flow.record(installation)
    try:
        await install_events.announce(flow.broker, install_events.installed(
            installation, state), flow.settings.publish_timeout_s)
    except TemporaryError as exc:  # stored but not announced: installing again announces it
        log.warning("install stored but not announced", reason=str(exc))
        return flow.failure("installed_but_not_deployed_try_again", status=503)
    log.info("slack workspace installed", team_id=installation.team_id)
    page = flow.pages.render_success_page(
        app_id=installation.app_id or "", team_id=installation.team_id,
        is_enterprise_install=installation.is_enterprise_install,
        enterprise_url=installation.enterprise_url)
    response = HTMLResponse(page)
    response.delete_cookie(flow.cookies.cookie_name, path="/")
    return response
