"""The approval UI's part of the chart: a public approval Ingress is refused unless
approvers must authenticate (OIDC or a proxy's JWT) or the dangerous opt-out is set; the
login settings reach the service as the env vars it reads, with the session and client
secrets by reference; /metrics has a port of its own that only the scraper may reach."""

from typing import Any

import pytest
from chartkit import RenderError, load_values

EXPOSED = {"httpIngress": {"approval": {"enabled": True}}}
OIDC = {"approval": {"auth": {"oidc": {"issuer": "https://slack.com", "clientId": "1.2",
                                       "tokenAuthMethod": "client_secret_post"}}}}
PROXY = {"approval": {"auth": {"proxyJwt": {
    "jwksUrl": "https://login.acme.example/keys", "issuer": "https://login.acme.example",
    "audience": "triage-approvals", "header": "X-Pomerium-Jwt-Assertion"}}}}


def approval_env(rendered: Any) -> dict[str, Any]:
    deployment = rendered.get("Deployment", "triage-approval")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        out = _merge(out, part)
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


async def test_a_public_approval_ui_without_login_is_refused(render) -> None:
    with pytest.raises(RenderError) as refused:
        await render(EXPOSED)
    message = str(refused.value)
    assert "refusing to render a public approval Ingress without authentication" in message
    for hint in ("approval.auth.oidc.issuer", "approval.auth.proxyJwt.jwksUrl",
                 "httpIngress.approval.allowUnauthenticated=true"):
        assert hint in message
    # Without the Ingress nothing is exposed, so nothing is refused.
    assert (await render({})).get("Deployment", "triage-approval")


@pytest.mark.parametrize("login", [OIDC, PROXY, {"httpIngress": {"approval": {
    "allowUnauthenticated": True}}}], ids=["oidc", "proxy-jwt", "explicit-opt-out"])
async def test_the_ingress_renders_with_a_login_or_the_explicit_opt_out(render, login) -> None:
    rendered = await render(merged(EXPOSED, login))
    assert rendered.get("Ingress", "triage-approval")
    notes = rendered.notes
    assert "Approvals: https://approvals.example.com/" in notes
    if "allowUnauthenticated" in str(login):
        assert "WARNING: no login configured" in notes


async def test_oidc_settings_and_secrets_reach_the_service(render) -> None:
    env = approval_env(await render(OIDC))
    assert (env["OIDC_ISSUER"], env["OIDC_CLIENT_ID"], env["OIDC_TOKEN_AUTH_METHOD"]) == (
        "https://slack.com", "1.2", "client_secret_post")
    assert env["OIDC_SCOPES"] == "openid profile"
    assert env["USER_ID_CLAIM"] == "https://slack.com/user_id"
    assert env["TEAM_ID_CLAIM"] == "https://slack.com/team_id"
    assert env["SESSION_SECRET"] == {"secretKeyRef": {"name": "triage-approval",
                                                      "key": "session-secret"}}
    assert env["OIDC_CLIENT_SECRET"] == {"secretKeyRef": {
        "name": "triage-approval", "key": "oidc-client-secret", "optional": True}}
    assert env["PUBLIC_URL"] == "https://approvals.example.com"
    assert "IDENTITY_HEADER" not in env and "PROXY_JWKS_URL" not in env


async def test_proxy_jwt_settings_reach_the_service(render) -> None:
    env = approval_env(await render(PROXY))
    assert env["PROXY_JWKS_URL"] == "https://login.acme.example/keys"
    assert env["PROXY_JWT_HEADER"] == "X-Pomerium-Jwt-Assertion"
    assert (env["PROXY_JWT_ISSUER"], env["PROXY_JWT_AUDIENCE"]) == (
        "https://login.acme.example", "triage-approvals")
    assert env["PROXY_JWT_ALGORITHMS"] == "RS256,ES256"
    assert "SESSION_SECRET" in env and "OIDC_ISSUER" not in env


@pytest.mark.parametrize(("values", "message"), [
    ({"approval": {"auth": {"proxyJwt": {"jwksUrl": "https://k.example/jwks"}}}},
     "approval.auth.proxyJwt.issuer is required with approval.auth.proxyJwt.jwksUrl"),
    ({"approval": {"auth": {"oidc": {"issuer": "https://slack.com"}}}},
     "approval.auth.oidc.clientId is required with approval.auth.oidc.issuer"),
    ({"approval": {"auth": {"proxyJwt": {"algorithms": ["HS256"]}}}},
     "at '/approval/auth/proxyJwt/algorithms/0'"),
    ({"approval": {"auth": {"oidc": {"scopes": "profile email"}}}},
     "at '/approval/auth/oidc/scopes'"),
    ({"approval": {"metricsPort": 8080}}, "at '/approval/metricsPort'"),
    ({"approval": {"identityHeader": "X-Forwarded-User"}},
     "additional properties 'identityHeader' not allowed"),
])
async def test_incomplete_or_unsafe_login_settings_are_refused(render, values, message) -> None:
    with pytest.raises(RenderError) as refused:
        await render(values)
    assert message in str(refused.value)


async def test_metrics_have_a_port_only_the_scraper_reaches(render) -> None:
    rendered = await render(load_values("ha"))
    pod = rendered.get("Deployment", "triage-approval")["spec"]["template"]["metadata"]
    assert pod["annotations"]["prometheus.io/port"] == "9090"
    others = rendered.get("Deployment", "triage-router")["spec"]["template"]["metadata"]
    assert others["annotations"]["prometheus.io/port"] == "8080"
    ports = rendered.get("Service", "triage-approval")["spec"]["ports"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in ports] == [
        ("http", 8080, "http"), ("metrics", 9090, "metrics")]
    policy = rendered.get("NetworkPolicy", "triage-approval")["spec"]["ingress"]
    controller = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}]
    monitoring = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    edge = [{"podSelector": {"matchLabels": {  # Slack button clicks forwarded by the edge
        "app.kubernetes.io/name": "triage", "app.kubernetes.io/instance": "triage",
        "app.kubernetes.io/component": "ingress"}}}]
    helm_test = [{"podSelector": {"matchLabels": {  # `helm test` asks /readyz
        "app.kubernetes.io/name": "triage", "app.kubernetes.io/instance": "triage",
        "app.kubernetes.io/component": "tests"}}}]
    assert policy == [{"ports": [{"port": 8080, "protocol": "TCP"}], "from": controller},
                      {"ports": [{"port": 8080, "protocol": "TCP"}], "from": edge},
                      {"ports": [{"port": 8080, "protocol": "TCP"}], "from": helm_test},
                      {"ports": [{"port": 9090, "protocol": "TCP"}], "from": monitoring}]
    assert approval_env(rendered)["METRICS_PORT"] == "9090"
