"""The kopf handlers: Workspace → consumers, the approver directory entry, ConfigMap,
Deployments, status; and cleanup.

Handlers live in their own `kopf.OperatorRegistry` (built per operator, so tests can run
several without sharing state). Every handler is idempotent: it computes the whole desired
state and applies it, so a retry, a resume after a restart or an update all take one path.
Failures are classified once here: a spec that cannot work (or a consumer conflict only a
human can resolve) is a `kopf.PermanentError` with the reason in a Ready=False condition, not
retried (only the slow periodic resync looks again); NATS or the API being unavailable is a
`kopf.TemporaryError` retried with exponential backoff.
"""

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import kopf
from triage_contracts.natsauth import NatsAuth, nats_auth

from . import consumers, directory, resources
from .clients.kube import KubeClient, KubeRejected, KubeUnavailable
from .consumers import ConsumerConflict, ConsumerRef, NatsUnavailable
from .metrics import OperatorMetrics, observed
from .resources import GROUP, PLURAL, VERSION, Owner
from .settings import Settings
from .spec import InvalidSpec, WorkspaceSpec, parse_spec
from .status import conditions, phase

FINALIZER = f"{GROUP}/cleanup"
Logger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass
class Memo:
    """What every handler needs; kopf hands it to handlers as `memo`."""

    settings: Settings
    kube: KubeClient
    metrics: OperatorMetrics


def operator_settings(settings: Settings) -> kopf.OperatorSettings:
    config = kopf.OperatorSettings()
    config.persistence.finalizer = FINALIZER
    # Progress and diff-base in annotations: status stays ours and schema-strict.
    config.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    config.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    config.persistence.consistency_timeout = settings.consistency_timeout_s
    # One acting replica (leader.py: the others stand by without kopf) in one namespace:
    # no peering CRDs, no cluster-wide scanning of namespaces and CRDs, so the RBAC stays
    # namespace-scoped.
    config.peering.standalone = True
    config.scanning.disabled = True
    config.posting.level = logging.INFO
    config.watching.server_timeout = 300
    config.watching.client_timeout = 330
    return config


def build_registry(settings: Settings) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(login)
    kopf.on.cleanup(registry=registry)(close_clients)
    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")(
            observed("reconcile", reconcile))
    kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="cleanup")(
        observed("cleanup", cleanup))
    if settings.resync_interval_s > 0:
        # Drift repair: a Deployment deleted by hand, consumers lost with a JetStream reset,
        # or a conflict resolved since (e.g. the shared consumer removed) heal on the next tick.
        kopf.on.timer(GROUP, VERSION, PLURAL, registry=registry, id="resync",
                      interval=settings.resync_interval_s,
                      idle=settings.resync_interval_s)(observed("resync", reconcile))
    return registry


async def login(memo: Memo, **kwargs: Any) -> kopf.ConnectionInfo:
    """In-cluster service account first, else a kubeconfig; the same credentials serve
    kopf's watches and the operator's own requests."""
    info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    if info is None:
        raise kopf.LoginError("no service account token and no kubeconfig (KUBECONFIG) found")
    await memo.kube.use(info)
    return info


async def close_clients(memo: Memo, **_: Any) -> None:
    await memo.kube.close()


def _backoff(settings: Settings, retry: int) -> float:
    return min(settings.retry_delay_s * float(2 ** min(retry, 16)), settings.retry_max_delay_s)


def _report(patch: kopf.Patch, status: Any, ok: bool, reason: str, message: str,
            generation: int | None, conflict: str | None = None) -> None:
    previous = list(status.get("conditions") or [])
    patch.status["conditions"] = conditions(ok, reason, message, generation, previous,
                                            conflict)
    patch.status["phase"] = phase(ok)


def _recorded(status: Any) -> list[ConsumerRef]:
    return [ConsumerRef.from_status(item) for item in status.get("consumers") or []]


def _union(*groups: list[ConsumerRef]) -> list[ConsumerRef]:
    return list(dict.fromkeys(ref for group in groups for ref in group))


async def reconcile(name: str, namespace: str | None, uid: str, spec: Any, meta: Any,
                    status: Any, patch: kopf.Patch, memo: Memo, logger: Logger, retry: int = 0,
                    **_: Any) -> None:
    generation = meta.get("generation")
    namespace = namespace or memo.settings.operator_namespace
    try:
        ws = parse_spec(name, dict(spec))
    except InvalidSpec as exc:
        _report(patch, status, False, "InvalidSpec", str(exc), generation)
        raise kopf.PermanentError(f"invalid Workspace spec: {exc}") from exc
    await _claim_team(name, namespace, ws, status, patch, memo, retry, generation)
    owner = Owner(name=name, namespace=namespace, uid=uid,
                  release=memo.settings.worker_release)
    with _kube_errors(status, patch, memo, retry, generation):
        await _retire_workers(owner, ws, memo)
    made = await _sync_consumers(ws, status, patch, memo.settings, retry, generation)
    patch.status["teamId"] = ws.team_id
    patch.status["consumers"] = [ref.as_status() for ref in made]
    with _kube_errors(status, patch, memo, retry, generation):
        deployed = await _apply_objects(owner, ws, memo)
    patch.status["deployments"] = deployed
    patch.status["configMap"] = resources.configmap_name(name)
    patch.status["observedGeneration"] = generation
    message = f"{len(made)} consumers and {len(deployed)} deployments in sync"
    _report(patch, status, True, "Reconciled", message, generation)
    logger.info(f"workspace {name} (team {ws.team_id}) reconciled: {message}")


async def _claim_team(name: str, namespace: str, ws: WorkspaceSpec, status: Any,
                      patch: kopf.Patch, memo: Memo, retry: int, generation: int | None
                      ) -> None:
    """Make the team this Workspace's (its directory entry, with its approvers) before
    anything else is touched, and withdraw a previous teamId's entry. A team another live
    Workspace holds is a `Conflict`: nothing is changed, not retried (the resync looks
    again, so the team is taken over once its holder is deleted or moves)."""
    settings = memo.settings
    url, wait = resources.nats_url(ws, settings), settings.nats_connect_timeout_s
    previous, auth = status.get("teamId"), nats_auth(settings)
    try:
        holder = await directory.claim(url, name, ws, wait, auth)
        if holder and not await _holds(memo.kube, namespace, holder, ws.team_id):
            holder = await directory.claim(url, name, ws, wait, auth, stale=holder)
        if not holder and previous and previous != ws.team_id:
            await directory.withdraw(url, name, previous, wait, auth)
    except (NatsUnavailable, KubeUnavailable, KubeRejected) as exc:
        reason = "NatsUnavailable" if isinstance(exc, NatsUnavailable) else "KubernetesApiError"
        _report(patch, status, False, reason, str(exc), generation)
        raise kopf.TemporaryError(str(exc), delay=_backoff(settings, retry)) from exc
    if holder:
        message = (f"teamId {ws.team_id} belongs to Workspace {holder}: nothing is done for "
                   f"this one until {holder} is deleted or changes its teamId")
        _report(patch, status, False, "Conflict", message, generation, conflict=message)
        raise kopf.PermanentError(message)


async def _holds(kube: KubeClient, namespace: str, holder: str, team: str) -> bool:
    """Whether the Workspace named in a claim still exists with that teamId (a claim left
    by a Workspace deleted while the operator was away is stale). One being deleted still
    holds the team until its cleanup has removed what it runs."""
    body = await kube.get(f"{GROUP}/{VERSION}", "Workspace", namespace, holder)
    return body is not None and (body.get("spec") or {}).get("teamId") == team


async def _sync_consumers(ws: WorkspaceSpec, status: Any, patch: kopf.Patch,
                          settings: Settings, retry: int, generation: int | None
                          ) -> list[ConsumerRef]:
    recorded = _recorded(status)
    url = resources.nats_url(ws, settings)
    try:
        return await consumers.ensure(url, ws.team_id, recorded, settings.nats_connect_timeout_s,
                                      nats_auth(settings), own_audit=resources.own_audit(ws))
    except (NatsUnavailable, ConsumerConflict) as exc:
        # Remember every consumer that may exist now, so deletion can find them all.
        wanted = consumers.desired(ws.team_id, resources.own_audit(ws))
        owned = _union(recorded, consumers.refs(wanted))
        patch.status["consumers"] = [ref.as_status() for ref in owned]
        if isinstance(exc, ConsumerConflict):
            _report(patch, status, False, "ConsumerConflict", str(exc), generation)
            raise kopf.PermanentError(str(exc)) from exc
        _report(patch, status, False, "NatsUnavailable", str(exc), generation)
        raise kopf.TemporaryError(str(exc), delay=_backoff(settings, retry)) from exc


@contextlib.contextmanager
def _kube_errors(status: Any, patch: kopf.Patch, memo: Memo, retry: int,
                 generation: int | None) -> Iterator[None]:
    """The API refusing (permanent) or unavailable (retried), reported in the status."""
    try:
        yield
    except (KubeRejected, KubeUnavailable) as exc:
        _report(patch, status, False, "KubernetesApiError", str(exc), generation)
        if isinstance(exc, KubeUnavailable):
            raise kopf.TemporaryError(str(exc), delay=_backoff(memo.settings, retry)) from exc
        raise kopf.PermanentError(str(exc)) from exc


async def _retire_workers(owner: Owner, ws: WorkspaceSpec, memo: Memo) -> None:
    """Delete the workers this Workspace no longer runs (the audit one of a database no
    longer named), by name, before their consumers go: a pod restarting in between would
    create its consumer again. A DELETE of what is already gone is a 404, nothing more."""
    for component in sorted(set(resources.ALL_COMPONENTS) - set(resources.components(ws))):
        await memo.kube.delete("apps/v1", "Deployment", owner.namespace,
                               resources.deployment_name(owner.name, component))


async def _apply_objects(owner: Owner, ws: WorkspaceSpec, memo: Memo) -> list[str]:
    await memo.kube.apply(resources.configmap(owner, ws))
    applied = [await memo.kube.apply(d) for d in resources.deployments(owner, ws, memo.settings)]
    return [item["metadata"]["name"] for item in applied]


async def cleanup(name: str, namespace: str | None, spec: Any, status: Any, memo: Memo,
                  retry: int, logger: Logger, **_: Any) -> None:
    """Workers first (so nothing re-creates consumers), then the config, then consumers.
    Explicit deletes: owner-reference GC is a safety net, not the mechanism."""
    settings = memo.settings
    namespace = namespace or settings.operator_namespace
    url, wait, auth = settings.nats_url, settings.nats_connect_timeout_s, nats_auth(settings)
    ws: WorkspaceSpec | None = None
    try:
        ws = parse_spec(name, dict(spec))
        url = resources.nats_url(ws, settings)
    except InvalidSpec:
        pass  # an invalid spec never got consumers beyond those recorded in status
    try:
        owned, teams = await _owned(name, ws, status, url, wait, auth)
        for component in resources.ALL_COMPONENTS:
            await memo.kube.delete("apps/v1", "Deployment", namespace,
                                   resources.deployment_name(name, component))
        await memo.kube.delete("v1", "ConfigMap", namespace, resources.configmap_name(name))
        await consumers.remove(url, owned, wait, auth)
        for team in sorted(teams):
            await directory.withdraw(url, name, team, wait, auth)
    except (KubeRejected, KubeUnavailable, NatsUnavailable) as exc:
        raise kopf.TemporaryError(f"cleanup of {name} failed: {exc}",
                                  delay=_backoff(settings, retry)) from exc
    logger.info(f"workspace {name} cleaned up: deployments, config map, {len(owned)} consumers, "
                f"approver directory")


async def _owned(name: str, ws: WorkspaceSpec | None, status: Any, url: str, wait: float,
                 auth: NatsAuth) -> tuple[list[ConsumerRef], set[str]]:
    """What a deletion may remove: the consumers the status records, plus the team's when
    this Workspace holds its claim (a reconcile cut short may not have recorded them), less
    those of any team another Workspace holds (two Workspaces of one team from before
    claims existed recorded the same consumers). Also the teams whose claims are ours."""
    teams = {team for team in (status.get("teamId"), ws and ws.team_id) if team}
    holders = {team: await directory.holder(url, team, wait, auth) for team in teams}
    others = {team for team, holder in holders.items() if holder not in (None, name)}
    refs = _recorded(status)
    if ws is not None and holders.get(ws.team_id) == name:
        refs = _union(refs, consumers.refs(consumers.desired(ws.team_id, own_audit=True)))
    kept = [ref for ref in refs if not any(ref.name.endswith(f"-{team}") for team in others)]
    return kept, teams - others
