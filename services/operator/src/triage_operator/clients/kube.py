"""A minimal Kubernetes API client on aiohttp, using the credentials kopf logged in with.

Why not a full client library: the operator touches two kinds (ConfigMap, Deployment) with
three verbs and reads Workspaces by name, kopf already brings aiohttp, and kopf's
`ConnectionInfo` (from the in-cluster service account or a kubeconfig) knows how to build
the headers and TLS context. So the operator's own requests go to exactly the server kopf
watches (a real cluster, or a test emulator) with no second configuration path to get
wrong.
"""

import json
from typing import Any

import aiohttp
import kopf
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.logs import get_logger

log = get_logger(__name__)

_PLURALS = {"ConfigMap": "configmaps", "Deployment": "deployments", "Workspace": "workspaces",
            "Event": "events"}
MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "triage-operator"


class KubeRejected(PermanentError):
    """400/422: the manifest itself is invalid; the same request can never succeed."""


class KubeUnavailable(TemporaryError):
    """Anything else (5xx, 429, 401/403 while RBAC or credentials are being fixed, network
    errors as status 0) may heal: retry later."""


def kube_error(status: int, message: str) -> KubeRejected | KubeUnavailable:
    text = f"Kubernetes API {status}: {message}"
    if status in (400, 422):
        return KubeRejected(text, ErrorCode.UPSTREAM_REJECTED)
    return KubeUnavailable(text, ErrorCode.UPSTREAM_UNAVAILABLE)



def object_path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{_PLURALS[kind]}"
    return f"{path}/{name}" if name else path


class KubeClient:
    """Holds the latest credentials from kopf's login handler and a session built on them."""

    def __init__(self, timeout: float = 30.0) -> None:
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def use(self, info: kopf.ConnectionInfo) -> None:
        """Switch to new credentials (kopf re-logs in when its own requests get a 401)."""
        if info == self._info:
            return
        await self.close()
        self._info = info

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> tuple[aiohttp.ClientSession, str]:
        if self._info is None:
            raise kube_error(0, "not logged in yet")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._info.as_ssl_context()),
                headers=self._info.as_http_headers() | {"User-Agent": FIELD_MANAGER},
                timeout=self._timeout,
            )
        return self._session, self._info.server.rstrip("/")

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                      content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
        session, server = self._client()
        params = {"fieldManager": FIELD_MANAGER} if method in ("POST", "PATCH") else {}
        try:
            async with session.request(method, server + path, json=body, params=params,
                                       headers={"Content-Type": content_type}) as resp:
                text = await resp.text()
                return resp.status, _json(text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise kube_error(0, f"{method} {path}: {exc or type(exc).__name__}") from exc

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create the object, or bring an existing one to the manifest (409 = exists = patch).

        A JSON merge patch replaces lists (containers, env) wholesale, which is what an
        owner of the whole object wants."""
        meta = manifest["metadata"]
        path = object_path(manifest["apiVersion"], manifest["kind"], meta["namespace"])
        status, data = await self.request("POST", path, manifest)
        if status == 409:
            status, data = await self.request("PATCH", f"{path}/{meta['name']}", manifest,
                                              MERGE_PATCH)
        _check(status, data)
        return data

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Create the object; None when one of that name exists already (left untouched)."""
        meta = manifest["metadata"]
        path = object_path(manifest["apiVersion"], manifest["kind"], meta["namespace"])
        status, data = await self.request("POST", path, manifest)
        if status == 409:
            return None
        _check(status, data)
        return data

    async def items(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        """Every object of a kind in the namespace (one page: the kinds listed are few)."""
        status, data = await self.request("GET", object_path(api_version, kind, namespace))
        _check(status, data)
        return [item for item in data.get("items") or [] if isinstance(item, dict)]

    async def patch_status(self, api_version: str, kind: str, namespace: str, name: str,
                           status: dict[str, Any], resource_version: str | None = None
                           ) -> bool:
        """Merge `status` into the status subresource; with `resource_version`, only if
        nobody wrote the object since (False then, as when it is gone)."""
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        path = object_path(api_version, kind, namespace, name) + "/status"
        code, data = await self.request("PATCH", path, body, MERGE_PATCH)
        if code in (404, 409):
            return False
        _check(code, data)
        return True

    async def get(self, api_version: str, kind: str, namespace: str, name: str
                  ) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        status, data = await self.request("GET", object_path(api_version, kind, namespace, name))
        if status == 404:
            return None
        _check(status, data)
        return data

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete (background propagation); False if it was already gone."""
        path = object_path(api_version, kind, namespace, name)
        status, data = await self.request("DELETE", f"{path}?propagationPolicy=Background")
        if status == 404:
            return False
        _check(status, data)
        return True


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {"message": text[:500]}  # a proxy's HTML error page, say
    return data if isinstance(data, dict) else {}


def _check(status: int, data: dict[str, Any]) -> None:
    if status >= 400:
        raise kube_error(status, str(data.get("message") or data.get("reason") or data))
