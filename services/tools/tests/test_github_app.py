"""A GitHub App installation instead of a token: PyGithub signs the App's JWT, mints the
installation token on the stand-in (which verifies the signature against the App's public
key), renews it before it expires, counts reads against the installation's own, higher
quota, and writes as `<slug>[bot]`."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr, ValidationError
from triage_contracts.messages import ToolStatus
from triage_sandbox.github.apps import App
from triage_sandbox.github_api import build_github_api
from triage_tools.clients.github import AppInstallation
from triage_tools.errors import ToolError
from triage_tools.settings import Settings

from .conftest import GITHUB_TOKEN, StandIn, serve

APP_ID, INSTALLATION = 4242, 77
CHECKOUT = "demo-org/checkout-api"


def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


KEY = private_key()


def stand_in(demo: Any, token_ttl_s: float = 3600.0) -> Iterator[StandIn]:
    app = App(APP_ID, "triage-app", public_pem(KEY), frozenset({INSTALLATION}),
              token_ttl_s=token_ttl_s)
    # A bot token is accepted too, so the stand-in is not an open one.
    api = build_github_api(token=GITHUB_TOKEN, demo=demo, github_apps=[app])
    with serve(api) as url:
        yield StandIn(url, api)


@pytest.fixture
def github_app(demo: Any) -> Iterator[StandIn]:
    yield from stand_in(demo)


def installation(url: str, key: rsa.RSAPrivateKey = KEY,
                 installation_id: int = INSTALLATION) -> AppInstallation:
    return AppInstallation(url, APP_ID, SecretStr(pem(key)), installation_id, timeout_s=5)


def app_settings(settings: Settings, url: str, **changes: Any) -> Settings:
    return settings.model_copy(update={
        "github_api_url": url, "github_token": None, "github_app_id": APP_ID,
        "github_app_installation_id": INSTALLATION,
        "github_app_private_key": SecretStr(pem(KEY)), **changes})


def minted(github: StandIn) -> list[dict[str, str]]:
    return [c for c in github.get("/sandbox/calls") if c["path"].endswith("/access_tokens")]


def test_settings_take_all_three_app_values_and_no_token_beside_them() -> None:
    base = {"github_app_id": APP_ID, "github_app_installation_id": INSTALLATION,
            "github_app_private_key": pem(KEY)}
    assert Settings(**base).github_app_id == APP_ID  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs GITHUB_APP_PRIVATE_KEY"):
        Settings(github_app_id=APP_ID, github_app_installation_id=INSTALLATION)
    with pytest.raises(ValidationError, match="not both"):
        Settings(**base, github_token=GITHUB_TOKEN)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="PEM private key"):
        Settings(**{**base, "github_app_private_key": "not-a-key"})  # type: ignore[arg-type]
    # A template that renders unset values as "" leaves the App unset.
    assert Settings(github_app_id="", github_app_private_key="").github_app_id is None  # type: ignore[arg-type]


def test_the_token_is_minted_once_and_kept_until_near_its_expiry(github_app: StandIn) -> None:
    credential = installation(github_app.url)
    first = credential.token()
    assert first.startswith("ghs_") and credential.token() == first
    assert len(minted(github_app)) == 1
    assert credential.login() == "triage-app[bot]"
    # The token authenticates as the App's bot, counted against the installation.
    who = httpx.get(f"{github_app.url}/user", headers={"Authorization": f"token {first}"},
                    timeout=5)
    assert who.json()["login"] == "triage-app[bot]"
    assert who.headers["X-RateLimit-Limit"] == "15000"


def test_a_token_within_five_minutes_of_expiry_is_renewed(demo: Any) -> None:
    for github in stand_in(demo, token_ttl_s=299):
        credential = installation(github.url)
        assert credential.token() != credential.token()
        assert len(minted(github)) == 2


def test_an_expired_installation_token_is_refused_as_github_does(demo: Any) -> None:
    for github in stand_in(demo, token_ttl_s=0):
        token = installation(github.url).token()
        refused = httpx.get(f"{github.url}/repos/{CHECKOUT}",
                            headers={"Authorization": f"token {token}"}, timeout=5)
        assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"


def test_a_key_the_app_does_not_have_or_a_foreign_installation_is_a_clear_error(
    github_app: StandIn
) -> None:
    with pytest.raises(ToolError, match="could not act as installation 77.*401"):
        installation(github_app.url, key=private_key()).token()
    with pytest.raises(ToolError, match="could not act as installation 78.*404.*"
                       "GITHUB_APP_INSTALLATION_ID"):
        installation(github_app.url, installation_id=78).token()
    assert minted(github_app) and not github_app.get("/sandbox/usage")


async def test_the_tools_service_reads_and_writes_as_the_installation(
    settings: Settings, github_app: StandIn, start_tools: Any, make_grant: Any
) -> None:
    async with start_tools(app_settings(settings, github_app.url)) as tools:
        result = await tools.call("github.recent_commits", {"repo": CHECKOUT, "limit": 5})
        assert result.status == ToolStatus.SUCCESS, result.error
        assert result.data and result.data[0]["sha"]
        unapproved = tools.tool_call("github.comment_issue", {
            "repo": CHECKOUT, "issue_number": 42, "body": "Checked as the App."})
        call = unapproved.model_copy(update={"grant": make_grant(unapproved)})
        await tools.send(call)
        wrote = await tools.result(call)
        assert wrote.status == ToolStatus.SUCCESS, wrote.error
    [comment] = github_app.get("/sandbox/comments")
    assert comment["user"]["login"] == "triage-app[bot]"
    # Every read and write was counted for the installation, none for a token.
    usage = github_app.get("/sandbox/usage")
    assert list(usage) == [f"installation {INSTALLATION}"]
    assert usage[f"installation {INSTALLATION}"]["limit"] == 15_000
    assert len(minted(github_app)) == 1  # one token served the reads and the write
