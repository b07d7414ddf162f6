"""Slack's OAuth v2 install, as the sandbox plays it, so the ingress install flow runs with
its real slack-sdk pieces on one machine and in tests.

`GET /sandbox/oauth/authorize` stands for Slack's consent page (sandbox only: it consents
at once and redirects to `redirect_uri` with a fresh one-use code and the caller's state);
`POST /api/oauth.v2.access` exchanges that code as Slack does (client credentials by HTTP
Basic auth or form fields, same answer shape) and issues a bot token the Web API stand-in
then accepts for that team.

Token rotation (`SandboxSlack.token_lifetime_s`): tokens expire and come with a refresh
token, exchanged (once) with `grant_type=refresh_token` for a new token and refresh token.

Enterprise Grid: `enterprise=E…` on the consent URL installs into a workspace of that
organisation (the answer carries the enterprise); adding `org=1` is an org-wide install
(`is_enterprise_install`, no team), whose token speaks for every workspace of the org.
"""

import base64
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .slack_workspace import JsonDict, SandboxSlack, error

CODE_TTL_S = 600.0  # Slack's codes expire after 10 minutes, and are good for one exchange
APP_ID = "ASANDBOX"
INSTALLER = "U_LEAD"  # the demo person who clicks "Allow"


@dataclass
class SandboxOAuth:
    client_id: str
    client_secret: str
    codes: dict[str, JsonDict] = field(default_factory=dict)

    def issue_code(self, team_id: str, scope: str, redirect_uri: str, user: str,
                   enterprise_id: str | None = None, org_wide: bool = False) -> str:
        code = f"{int(time.time())}.{secrets.token_hex(16)}"
        self.codes[code] = {"team_id": team_id, "scope": scope, "redirect_uri": redirect_uri,
                            "user": user, "at": time.monotonic(),
                            "enterprise_id": enterprise_id, "org_wide": org_wide}
        return code

    def take_code(self, code: str) -> JsonDict | None:
        """The code's grant, once; unknown, used or expired codes give None."""
        grant = self.codes.pop(code, None)
        if grant is None or time.monotonic() - grant["at"] > CODE_TTL_S:
            return None
        return grant


def _credentials(request: Request, form: JsonDict) -> tuple[str, str]:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        decoded = base64.b64decode(auth[6:].strip()).decode(errors="replace")
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(form.get("client_id") or ""), str(form.get("client_secret") or "")


def _rotating(ws: SandboxSlack, token: str) -> JsonDict:
    """The expiry and refresh token of a newly issued token, when rotation is on."""
    if ws.token_lifetime_s is None:
        return {}
    refresh = f"xoxe-1-sandbox-{secrets.token_hex(16)}"
    ws.refresh_tokens[refresh] = token
    ws.expires[token] = time.time() + ws.token_lifetime_s
    return {"refresh_token": refresh, "expires_in": ws.token_lifetime_s}


def refresh(ws: SandboxSlack, form: JsonDict) -> JsonDict:
    """A refresh token for a new bot token of the same installation; each works once."""
    old = ws.refresh_tokens.pop(str(form.get("refresh_token") or ""), None)
    if old is None or old not in ws.installed:
        return error("invalid_refresh_token")
    found = ws.installed[old]
    token = f"xoxb-sandbox-{found['team_id'].lower()}-{secrets.token_hex(12)}"
    ws.install(token, found["team_id"], found["bot_user_id"], ",".join(found["scopes"]))
    return {"ok": True, "access_token": token, "token_type": "bot", "app_id": APP_ID,
            "bot_user_id": found["bot_user_id"], "team": {"id": found["team_id"]},
            "enterprise": None, "is_enterprise_install": False, **_rotating(ws, token)}


def access(ws: SandboxSlack, oauth: SandboxOAuth, creds: tuple[str, str],
           form: JsonDict) -> JsonDict:
    client_id, secret = creds
    if client_id != oauth.client_id:
        return error("invalid_client_id")
    if not secrets.compare_digest(secret.encode(), oauth.client_secret.encode()):
        return error("bad_client_secret")
    if form.get("grant_type") == "refresh_token":
        return refresh(ws, form)
    grant = oauth.take_code(str(form.get("code") or ""))
    if grant is None:
        return error("invalid_code")
    if form.get("redirect_uri") != grant["redirect_uri"]:
        return error("bad_redirect_uri")
    enterprise, org_wide = grant["enterprise_id"], bool(grant["org_wide"])
    # An org-wide token belongs to the organisation: the stand-in knows it by that id.
    owner = enterprise if org_wide else grant["team_id"]
    token = f"xoxb-sandbox-{owner.lower()}-{secrets.token_hex(12)}"
    bot_user_id = f"UBOT{owner[-4:]}"
    ws.install(token, owner, bot_user_id, str(grant["scope"] or ""))
    return {"ok": True, "access_token": token, "token_type": "bot", "scope": grant["scope"],
            "bot_user_id": bot_user_id, "app_id": APP_ID,
            "team": None if org_wide else {"id": owner, "name": f"Sandbox {owner}"},
            "enterprise": {"id": enterprise, "name": f"Sandbox {enterprise}"} if enterprise
            else None,
            "is_enterprise_install": org_wide, "authed_user": {"id": grant["user"]},
            **_rotating(ws, token)}


def install_oauth(app: FastAPI, ws: SandboxSlack, oauth: SandboxOAuth) -> None:
    """Add the two OAuth routes; call before the generic `/api/{method}` route."""

    @app.get("/sandbox/oauth/authorize")
    async def authorize(client_id: str = "", scope: str = "", state: str = "",
                        redirect_uri: str = "", team: str | None = None,
                        user: str = INSTALLER, enterprise: str | None = None,
                        org: bool = False) -> Response:
        if client_id != oauth.client_id:
            return HTMLResponse("<h2>SANDBOX: invalid_client_id</h2>", 400)
        if not redirect_uri.startswith(("http://", "https://")):
            return HTMLResponse("<h2>SANDBOX: bad_redirect_uri</h2>", 400)
        if org and not enterprise:
            return HTMLResponse("<h2>SANDBOX: an org-wide install needs enterprise=</h2>", 400)
        code = oauth.issue_code(team or ws.team_id, scope, redirect_uri, user, enterprise, org)
        joiner = "&" if "?" in redirect_uri else "?"
        target = f"{redirect_uri}{joiner}{urlencode({'code': code, 'state': state})}"
        return RedirectResponse(target, status_code=302)

    @app.post("/api/oauth.v2.access")
    async def oauth_v2_access(request: Request) -> JSONResponse:
        # slack-sdk sends a form body; parsed by hand, the stand-in needs no multipart lib.
        form: JsonDict = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        creds = _credentials(request, form)
        result = access(ws, oauth, creds, form)
        ws.calls.append({"method": "oauth.v2.access", "at": time.time(),
                         "args": {"code": form.get("code"),
                                  "redirect_uri": form.get("redirect_uri"),
                                  "grant_type": form.get("grant_type")},
                         "result": "ok" if result["ok"] else result["error"]})
        return JSONResponse(result)
