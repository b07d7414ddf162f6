"""Chart + image, together: each service, started from the venv its image's builder stage
produces with exactly the environment the chart renders for it (ENVIRONMENT=production,
secrets filled in, ConfigMaps written where the chart mounts them), answers the probes the
chart configures - /healthz, then /readyz once NATS is connected - and writes nothing into
its working directory or its venv (the root filesystem is read-only in the cluster)."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest
from chartkit import NAMESPACE, kubeconfig_for
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from triage_contracts.permissions import names
from triage_contracts.testing.grant_keys import GrantKeyPair
from triage_contracts.testing.natsserver import NatsServer, free_port, stop_group_async

# The release's grant key pair: the private half in the approval Secret, the public half
# in the values (grants.publicKeys) for tools and the orchestrator.
GRANT_KEY = GrantKeyPair.generate("k8s-test")
GRANT_VALUES = {"grants": {"publicKeys": {GRANT_KEY.kid: GRANT_KEY.public_key}}}
# Test stand-ins for what the referenced Secrets hold in a cluster.
SECRET_VALUES = {
    "signing-secret": "k8s-test-slack-signing-secret", "bot-token": "xoxb-k8s-test-token",
    "token": "ghp_k8s_test", "api-key": "",
    "master-keys": "k8s:a2s4cy10ZXN0LXZhdWx0LWtleS0zMi1ieXRlcyEhISE=",
    "grant-signing-key": GRANT_KEY.private_pem, "grant-signing-key-id": GRANT_KEY.kid,
    "service-token": "k8s-test-service-token",
    "api-token": "k8s-test-audit-token",
    "checkpoint-key": Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode(),
    "audit-url": "postgresql+psycopg://audit@postgres/audit",
    "approval-url": "postgresql+psycopg://approval@postgres/approval",
    "session-secret": "k8s-test-approval-session-secret", "oidc-client-secret": "k8s-test-oidc",
    # nats.credentialsSecret: one password per NATS identity (production refuses dev ones).
    **{f"{name}-password": f"k8s-test-nats-{name}" for name in names()},
}
# The approval UI with its login configured (Sign in with Slack, and a proxy's JWTs).
APPROVAL_LOGIN = {"approval": {"auth": {
    "oidc": {"issuer": "https://slack.com", "clientId": "1.2",
             "tokenAuthMethod": "client_secret_post"},
    "proxyJwt": {"jwksUrl": "https://login.acme.example/keys",
                 "issuer": "https://login.acme.example", "audience": "triage"}}}}
@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """The test server with the passwords of the chart's Secret: each service connects as
    the identity and password the chart gives it."""
    chart = {name: SECRET_VALUES[f"{name}-password"] for name in names()}
    with NatsServer(test_admin=True, passwords=chart) as server:
        yield server


COMPONENTS = ["ingress", "notifier", "orchestrator", "tools", "router", "audit", "approval"]
PROBE_DEADLINE_S = 30.0


def container_env(rendered: Any, component: str, tmp: Path, nats_url: str,
                  port: int) -> dict[str, str]:
    env = dict(rendered.get("ConfigMap", "triage-env")["data"])
    deployment = rendered.get("Deployment", f"triage-{component}")
    for var in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        source = var.get("valueFrom", {})
        if "fieldRef" in source:  # the downward API: filled in by the test
            continue
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[var["name"]] = rendered.get("ConfigMap", ref["name"])["data"][ref["key"]]
            continue
        ref = source.get("secretKeyRef")
        if ref and ref.get("optional") and ref["key"] not in SECRET_VALUES:
            continue  # an optional key the Secret does not hold
        env[var["name"]] = SECRET_VALUES[ref["key"]] if ref else var["value"]
    if "DATABASE_URL" in env:  # the cluster's PostgreSQL, replaced by SQLite under /tmp
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'tmpfs' / 'db.sqlite'}"
    for name, value in env.items():  # ConfigMap mounts, relocated under the test folder
        if value.startswith("/etc/triage/"):
            env[name] = str(tmp / value.lstrip("/"))
    # One test server instead of the 3-node cluster; a free port instead of 8080.
    env |= {"NATS_URL": nats_url, "NATS_REPLICAS": "1", "HOST": "127.0.0.1",
            "PORT": str(port), "HOME": str(tmp / "tmpfs"), "TMPDIR": str(tmp / "tmpfs")}
    if "METRICS_PORT" in env:
        env["METRICS_PORT"] = str(free_port())
    return env


def write_mounts(rendered: Any, tmp: Path) -> None:
    for configmap, folder in [("triage-workflow", "etc/triage/workflow"),
                              ("triage-skills", "etc/triage/skills"),
                              ("triage-routes", "etc/triage/routes")]:
        (tmp / folder).mkdir(parents=True)
        for key, text in rendered.get("ConfigMap", configmap)["data"].items():
            (tmp / folder / key).write_text(text)
    (tmp / "tmpfs").mkdir()


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@dataclass
class Running:
    client: httpx.AsyncClient
    process: asyncio.subprocess.Process


@asynccontextmanager
async def running(venv: Path, module: str, env: dict[str, str],
                  workdir: Path) -> AsyncIterator[Running]:
    """The service as its container runs it (`python -m <module>` from the image's venv),
    stopped by process group, with a client for its PORT."""
    env = env | {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    process = await asyncio.create_subprocess_exec(
        str(venv / "bin" / "python"), "-m", module, cwd=workdir, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['PORT']}") as client:
            yield Running(client, process)
    finally:
        await stop_group_async(process)


async def probe(service: Running, path: str) -> int:
    """Like the kubelet: poll until 200 (or the deadline); a dead process fails at once."""
    process, client = service.process, service.client
    status = 0
    deadline = time.monotonic() + PROBE_DEADLINE_S
    while time.monotonic() < deadline:
        if process.returncode is not None:
            stderr = await process.stderr.read() if process.stderr else b""
            raise AssertionError(f"exited {process.returncode}: {stderr.decode()}")
        try:
            status = (await client.get(path, timeout=1.0)).status_code
        except httpx.TransportError:
            status = 0
        if status == 200:
            return status
        await asyncio.sleep(0.1)
    return status


@pytest.mark.parametrize("component", COMPONENTS)
async def test_service_starts_with_the_chart_env_and_passes_its_probes(
        component, render, image_venv, nats_url, tmp_path) -> None:
    rendered = await render(GRANT_VALUES)
    image = "ingress" if component == "notifier" else component
    venv = image_venv(image)
    write_mounts(rendered, tmp_path)
    env = container_env(rendered, component, tmp_path, nats_url, free_port())
    workdir = tmp_path / "app"
    workdir.mkdir()
    before = snapshot(venv)
    async with running(venv, f"triage_{image}", env, workdir) as service:
        assert await probe(service, "/healthz") == 200
        assert await probe(service, "/readyz") == 200
        assert "# HELP" in await metrics(service, env)
    assert snapshot(workdir) == set(), "the service wrote into its working directory"
    assert snapshot(venv) == before, "the service wrote into its (read-only) venv"


async def metrics(service: Running, env: dict[str, str]) -> str:
    """/metrics where the chart points the scraper: its own port when the chart sets
    METRICS_PORT (then the public port must not serve it), else the service port."""
    if "METRICS_PORT" not in env:
        return (await service.client.get("/metrics")).text
    assert (await service.client.get("/metrics")).status_code == 404
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{env['METRICS_PORT']}/metrics")).text


async def test_approval_starts_with_its_login_configured(render, image_venv, nats_url,
                                                         tmp_path) -> None:
    """ENVIRONMENT=production with OIDC and proxy JWTs: the settings the chart renders pass
    the service's own checks, and every approval endpoint wants an identity."""
    rendered = await render(APPROVAL_LOGIN | GRANT_VALUES)
    venv = image_venv("approval")
    write_mounts(rendered, tmp_path)
    env = container_env(rendered, "approval", tmp_path, nats_url, free_port())
    assert env["ENVIRONMENT"] == "production" and env["OIDC_ISSUER"] == "https://slack.com"
    workdir = tmp_path / "app"
    workdir.mkdir()
    async with running(venv, "triage_approval", env, workdir) as service:
        assert await probe(service, "/readyz") == 200
        assert (await service.client.get("/api/approvals")).status_code == 401
        login = await service.client.get("/")
        assert login.status_code == 303 and login.headers["location"].startswith("/auth/login")


async def test_operator_starts_with_the_chart_env_and_becomes_ready(
        render, image_venv, nats_url, tmp_path) -> None:
    """The operator image with the chart's env, logged in to an emulated API (a kubeconfig
    stands in for the in-cluster token) where Helm installed the Workspace CRD."""
    rendered = await render({})
    rendered.api.resources["triage.dev/v1alpha1/workspaces"] = kmock.ResourceInfo(
        kind="Workspace", singular="workspace", namespaced=True, subresources={"status"},
        verbs={"get", "list", "watch", "create", "update", "patch", "delete"})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_for(str(rendered.api.url)))
    (tmp_path / "tmpfs").mkdir()
    env = container_env(rendered, "operator", tmp_path, nats_url, free_port())
    env |= {"OPERATOR_NAMESPACE": NAMESPACE,  # the fieldRef's value in the cluster
            "KUBECONFIG": str(kubeconfig), "LIVENESS_PORT": str(free_port())}
    workdir = tmp_path / "app"
    workdir.mkdir()
    async with running(image_venv("operator"), "triage_operator", env, workdir) as service:
        assert await probe(service, "/readyz") == 200
        assert await probe(service, "/healthz") == 200
        # Prometheus scrapes where the pod's annotations say: the operator's own metrics.
        pod = rendered.get("Deployment", "triage-operator")["spec"]["template"]
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == rendered.get(
            "ConfigMap", "triage-env")["data"]["PORT"]  # the port it serves in the cluster
        scraped = await service.client.get(annotations["prometheus.io/path"], timeout=5.0)
        assert scraped.status_code == 200
        assert "triage_operator_reconciles_total" in scraped.text
        # kopf watches the Workspaces of exactly the release namespace (readiness comes
        # first, so wait for the watch request while the operator still runs).
        watched: list[str] = []
        for _ in range(100):
            watched = [str(r.url) for r in rendered.api if "workspaces" in str(r.url)]
            if watched:
                break
            await asyncio.sleep(0.1)
    assert any(f"/namespaces/{NAMESPACE}/workspaces" in url for url in watched), watched
    assert snapshot(workdir) == set()
