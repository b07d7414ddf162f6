"""A real Kubernetes API server for CRDs: etcd plus the standalone apiextensions-apiserver
that scripts/apiserver-build compiles into a cache outside the repository.

`find_binaries` waits for a build that is under way (CI starts it in the background before
the suite), `ApiServer` starts etcd and the server on free loopback ports with openssl
certificates and a client certificate in `system:masters`, and stops both by process group.
"""

import json
import os
import re
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from triage_contracts.testing.natsserver import free_port, stop_group

REPO = Path(__file__).parents[3]
BUILD_SCRIPT = REPO / "scripts" / "apiserver-build"
CRD_FILE = REPO / "charts" / "triage" / "crds" / "workspace.yaml"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NS = "tier"  # no Namespace object needed: this server has no core API nor its admission
WS_URL = f"/apis/triage.dev/v1alpha1/namespaces/{NS}/workspaces"
BUILD_WAIT_S = 40 * 60  # 10-25 min on a loaded 2-core box; CI reaches the tier late
START_WAIT_S = 120.0


def cache_root() -> Path:
    base = os.environ.get("TRIAGE_CACHE") or str(Path.home() / ".cache" / "triage")
    return Path(base) / "apiserver"


def pinned_version() -> str:
    """The version the build script pins (read from it, so there is one place to change)."""
    found = re.search(r'^PINNED_VERSION="([^"]+)"', BUILD_SCRIPT.read_text(), re.MULTILINE)
    assert found, "scripts/apiserver-build has no PINNED_VERSION"
    return found.group(1)


def complete_build() -> Path | None:
    """The pinned build's bin folder, else the newest complete one (sid moved on)."""
    root = cache_root()
    candidates = [root / pinned_version()]
    if root.is_dir():
        others = [p for p in root.iterdir() if not p.name.startswith(".")]
        candidates += sorted(others, key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in candidates:
        binaries = [folder / "bin" / name for name in ("apiextensions-apiserver", "etcd")]
        if all(os.access(b, os.X_OK) for b in binaries):
            return folder / "bin"
    return None


def build_running() -> bool:
    """Whether scripts/apiserver-build is working now (it writes its pid, removes it at exit)."""
    try:
        pid = int((cache_root() / "build.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def log_tail(lines: int = 40) -> str:
    log = cache_root() / "build.log"
    if not log.exists():
        return f"(no build log at {log})"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def find_binaries(wait_s: float = BUILD_WAIT_S) -> Path | None:
    """The binaries, waiting for a running build up to `wait_s`; None when there are none."""
    deadline = time.monotonic() + wait_s
    while (found := complete_build()) is None and build_running():
        if time.monotonic() > deadline:
            raise AssertionError(f"apiserver build still running after {wait_s:.0f}s:\n"
                                 + log_tail())
        time.sleep(5)
    return found


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(folder: Path) -> None:
    """A CA, the server's certificate for 127.0.0.1 and a client in system:masters."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=triage-test-ca", "-keyout", str(folder / "ca.key"),
             "-out", str(folder / "ca.crt"))
    for name, subject, ext in (
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "/O=system:masters/CN=triage-test", "extendedKeyUsage=clientAuth"),
    ):
        (folder / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
                 "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.csr"))
        _openssl("x509", "-req", "-in", str(folder / f"{name}.csr"), "-days", "2",
                 "-CA", str(folder / "ca.crt"), "-CAkey", str(folder / "ca.key"),
                 "-CAcreateserial", "-extfile", str(folder / f"{name}.ext"),
                 "-out", str(folder / f"{name}.crt"))


class _MastersOnly(BaseHTTPRequestHandler):
    """The SubjectAccessReview webhook the server delegates authorization to (it has no RBAC
    of its own): allowed for the system:masters group only, as a cluster's cluster-admin
    binding does."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        allowed = "system:masters" in review.get("spec", {}).get("groups", [])
        review["status"] = {"allowed": allowed}
        body = json.dumps(review).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def start_authorizer() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MastersOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class ApiServer:
    bin_dir: Path
    folder: Path
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    authorizer: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cert(self) -> tuple[str, str]:
        return str(self.folder / "client.crt"), str(self.folder / "client.key")

    @property
    def ca(self) -> str:
        return str(self.folder / "ca.crt")

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the test CA and presents the system:masters client certificate."""
        context = ssl.create_default_context(cafile=self.ca)
        context.load_cert_chain(*self.cert)
        return context

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), timeout=60.0)

    def kubeconfig(self) -> Path:
        """A kubeconfig for this server with the system:masters client certificate; the
        server itself is given it for its delegated authn/authz (it has no core API)."""
        path = self.folder / "kubeconfig"
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
            f"clusters: [{{name: t, cluster: {{server: '{self.url}', "
            f"certificate-authority: '{self.ca}'}}}}]\n"
            "contexts: [{name: t, context: {cluster: t, user: t}}]\n"
            f"users: [{{name: t, user: {{client-certificate: '{self.cert[0]}', "
            f"client-key: '{self.cert[1]}'}}}}]\n")
        return path

    def _spawn(self, args: list[str], log: str) -> None:
        out = (self.folder / log).open("wb")
        self.processes.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def start(self) -> "ApiServer":
        make_certs(self.folder)
        etcd_port, peer_port = free_port(), free_port()
        self._spawn([str(self.bin_dir / "etcd"), "--name", "t",
                     "--data-dir", str(self.folder / "etcd"), "--unsafe-no-fsync",
                     "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                     "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                     "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-cluster", f"t=http://127.0.0.1:{peer_port}"], "etcd.log")
        kubeconfig = str(self.kubeconfig())
        self.authorizer = start_authorizer()
        authz = self.folder / "authz-kubeconfig"
        authz.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
            f"clusters: [{{name: a, cluster: {{server: "
            f"'http://127.0.0.1:{self.authorizer.server_address[1]}'}}}}]\n"
            "contexts: [{name: a, context: {cluster: a, user: a}}]\nusers: [{name: a}]\n")
        self._spawn([str(self.bin_dir / "apiextensions-apiserver"),
                     "--etcd-servers", f"http://127.0.0.1:{etcd_port}",
                     "--bind-address", "127.0.0.1", "--secure-port", str(self.port),
                     "--cert-dir", str(self.folder / "serving"),
                     "--tls-cert-file", str(self.folder / "server.crt"),
                     "--tls-private-key-file", str(self.folder / "server.key"),
                     "--client-ca-file", self.ca,
                     "--kubeconfig", kubeconfig,
                     "--authentication-kubeconfig", kubeconfig,
                     "--authorization-kubeconfig", str(authz),
                     "--authentication-skip-lookup",
                     # They watch core kinds (namespaces, webhooks) this server lacks.
                     "--disable-admission-plugins", "NamespaceLifecycle,"
                     "MutatingAdmissionWebhook,ValidatingAdmissionWebhook,"
                     "ValidatingAdmissionPolicy,MutatingAdmissionPolicy"], "apiserver.log")
        self._wait_serving()
        return self

    def _wait_serving(self) -> None:
        """Until CRDs are listed: /readyz stays 503 here (no core API to be ready against),
        while requests are served."""
        deadline = time.monotonic() + START_WAIT_S
        with self.client() as http:
            while True:
                for process in self.processes:
                    if process.poll() is not None:
                        raise AssertionError(f"{process.args[0]} exited:\n{self.logs()}")
                try:
                    resp = http.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
                    if resp.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"API server not serving:\n{self.logs()}")
                time.sleep(0.5)

    def logs(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_group(process, timeout=20)
        if self.authorizer is not None:
            self.authorizer.shutdown()
