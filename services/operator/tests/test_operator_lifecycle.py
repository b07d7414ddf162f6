"""The real operator against kmock's Kubernetes API and a real nats-server: a Workspace is
created, changed and deleted, and the cluster and JetStream follow."""

from typing import Any

import nats
from nats.js.errors import NotFoundError
from triage_operator.resources import HASH_ANNOTATION

CONSUMERS = {  # (stream, durable) -> filter subject, for team {t}
    ("EVENTS", "orchestrator-events-{t}"): "triage.event.{t}.>",
    ("RESULTS", "orchestrator-results-{t}"): "triage.result.{t}.>",
    ("APPROVALS", "orchestrator-decisions-{t}"): "triage.approval.decision.{t}",
    ("WORK", "tools-{t}"): "triage.work.tool.{t}.>",
    ("WORK", "router-{t}"): "triage.work.model.{t}.>",
    ("WORK", "notifier-{t}"): "triage.work.notify.{t}.>",
}


async def consumer_filters(nats_url: str, team: str) -> dict[str, str | None]:
    """Each expected consumer's filter subject in NATS (None when it does not exist)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    found: dict[str, str | None] = {}
    try:
        for stream, durable in CONSUMERS:
            name = durable.format(t=team)
            try:
                found[name] = (await js.consumer_info(stream, name)).config.filter_subject
            except NotFoundError:
                found[name] = None
    finally:
        await nc.close()
    return found


def expected(team: str) -> dict[str, str | None]:
    return {d.format(t=team): f.format(t=team) for (_, d), f in CONSUMERS.items()}


def gone(team: str) -> dict[str, str | None]:
    return {d.format(t=team): None for (_, d) in CONSUMERS}


def env_of(deploy: dict[str, Any]) -> dict[str, Any]:
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


async def test_create_makes_config_workers_consumers_and_ready_status(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        cond = await k8s.eventually(lambda: k8s.is_ready("acme"))
    assert cond["reason"] == "Reconciled" and cond["observedGeneration"] == 1

    body = k8s.current(k8s.WS, "acme")
    assert body["status"]["observedGeneration"] == 1
    assert body["status"]["phase"] == "Ready"  # what `kubectl get workspaces` shows
    assert body["status"]["deployments"] == [
        "triage-ws-acme-orchestrator", "triage-ws-acme-tools", "triage-ws-acme-router",
        "triage-ws-acme-notifier"]
    assert {c["name"] for c in body["status"]["consumers"]} == set(expected("T0001"))
    assert "triage.dev/cleanup" in body["metadata"]["finalizers"]

    data = k8s.current(k8s.CM, "triage-ws-acme")["data"]
    assert data["channels"] == "C0001" and data["github-repos"] == "acme/checkout-api"
    assert data["tools"] == "github.search_issues,prometheus.query"

    for component in ("orchestrator", "tools", "router"):
        deploy = k8s.current(k8s.DEPLOY, f"triage-ws-acme-{component}")
        owner = deploy["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == \
            ("Workspace", "acme", "uid-acme", True)
        assert deploy["metadata"]["labels"]["triage.dev/workspace"] == "acme"
        assert deploy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "triage-operator"
        pod = deploy["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert env_of(deploy)["TEAM_SCOPE"] == "T0001"
        assert env_of(deploy)["NATS_URL"] == nats_url
        assert container["image"] == f"registry.test/triage-{component}:1.0"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        if component != "router":  # the router reads its routes from the directory
            repos = {"configMapKeyRef": {"name": "triage-ws-acme", "key": "github-repos"}}
            assert {"name": "GITHUB_REPOS", "valueFrom": repos} in container["env"]
    tools = k8s.current(k8s.DEPLOY, "triage-ws-acme-tools")["spec"]["template"]["spec"]
    assert [e["secretRef"]["name"] for e in tools["containers"][0]["envFrom"]] == \
        ["triage-common", "acme-github"]

    assert await consumer_filters(nats_url, "T0001") == expected("T0001")


async def test_spec_change_rolls_workers_and_updates_config(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        before = k8s.current(k8s.DEPLOY, "triage-ws-acme-orchestrator")

        # The API server bumps metadata.generation on a spec change; kmock does not.
        await k8s.api("PATCH", "acme", {"metadata": {"generation": 2},
                                        "spec": {"channels": ["C0001", "C0002"],
                                                 "workers": {"replicas": 3}}})
        await k8s.eventually(
            lambda: k8s.current(k8s.WS, "acme")["status"].get("observedGeneration") == 2)

    after = k8s.current(k8s.DEPLOY, "triage-ws-acme-orchestrator")
    assert (before["spec"]["replicas"], after["spec"]["replicas"]) == (1, 3)
    hashes = [d["spec"]["template"]["metadata"]["annotations"][HASH_ANNOTATION]
              for d in (before, after)]
    assert hashes[0] != hashes[1]
    assert k8s.current(k8s.CM, "triage-ws-acme")["data"]["channels"] == "C0001,C0002"
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools")["spec"]["replicas"] == 3
    assert k8s.ready("acme")["observedGeneration"] == 2


async def test_team_change_moves_the_consumers(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme", team="T0001"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        await k8s.api("PATCH", "acme", {"metadata": {"generation": 2},
                                        "spec": {"teamId": "T0002"}})
        await k8s.eventually(
            lambda: k8s.current(k8s.WS, "acme")["status"].get("teamId") == "T0002")

    assert await consumer_filters(nats_url, "T0002") == expected("T0002")
    assert await consumer_filters(nats_url, "T0001") == gone("T0001")
    assert env_of(k8s.current(k8s.DEPLOY, "triage-ws-acme-tools"))["TEAM_SCOPE"] == "T0002"


async def test_delete_removes_consumers_workers_config_then_finalizer(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        assert await consumer_filters(nats_url, "T0001") == expected("T0001")

        await k8s.api("DELETE", "acme")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "acme") is None)

    assert k8s.current(k8s.CM, "triage-ws-acme") is None
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-orchestrator") is None
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools") is None
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-router") is None
    assert await consumer_filters(nats_url, "T0001") == gone("T0001")
    # kmock removes the object only once no finalizer is left: the operator released it.
    released = k8s.last(k8s.WS, "acme")
    assert released["metadata"]["deletionTimestamp"]
    assert not released["metadata"].get("finalizers")


async def test_zero_replicas_pauses_the_workers(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("paused", workers={"replicas": 0}))
        await k8s.eventually(lambda: k8s.is_ready("paused"))
    assert k8s.current(k8s.DEPLOY, "triage-ws-paused-tools")["spec"]["replicas"] == 0


async def audit_filter(nats_url: str, team: str) -> str | None:
    """The filter of the team's own audit consumer (None when it does not exist)."""
    nc = await nats.connect(nats_url)
    try:
        return (await nc.jetstream().consumer_info("AUDIT", f"audit-{team}")
                ).config.filter_subject
    except NotFoundError:
        return None
    finally:
        await nc.close()


async def test_a_workspace_database_runs_its_own_audit_worker_until_it_is_removed(
        k8s, nats_url):
    """secretRefs.database: an audit worker (the database Secret in it only) on the team's
    own `audit-<team>` consumer; taking the field away removes both, and the Ready message
    counts them."""
    async with k8s.operator(k8s.settings(nats_url, worker_audit_secret="triage-audit")):
        await k8s.api("POST", body=k8s.workspace("acme", team="T0044", secretRefs={
            "github": "acme-github", "database": "acme-audit-db"}))
        cond = await k8s.eventually(lambda: k8s.is_ready("acme"))
        assert cond["message"] == "7 consumers and 5 deployments in sync"
        audit = k8s.current(k8s.DEPLOY, "triage-ws-acme-audit")
        container = audit["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "registry.test/triage-audit:1.0"
        assert [e["secretRef"]["name"] for e in container["envFrom"]] == [
            "triage-common", "acme-audit-db"]
        assert env_of(audit)["TEAM_SCOPE"] == "T0044"
        assert await audit_filter(nats_url, "T0044") == "triage.audit.T0044.>"

        await k8s.api("PATCH", "acme", {"metadata": {"generation": 2},
                                        "spec": {"secretRefs": {"database": None}}})
        await k8s.eventually(lambda: k8s.ready("acme")["observedGeneration"] == 2)
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-audit") is None
    assert await audit_filter(nats_url, "T0044") is None
    assert "triage-ws-acme-audit" not in k8s.current(k8s.WS, "acme")["status"]["deployments"]
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools") is not None


async def test_the_workspaces_model_key_is_mounted_in_its_router_only(k8s, nats_url):
    """secretRefs.openai reaches the team's own router (envFrom), which drains the team's
    own `router-<team>` consumer; the release's key (WORKER_OPENAI_SECRET) is not set
    beside it, and no other worker gets the model key."""
    settings = k8s.settings(nats_url, worker_openai_secret="triage-openai")
    refs = {"github": "acme-github", "openai": "acme-openai"}
    async with k8s.operator(settings):
        await k8s.api("POST", body=k8s.workspace("acme", team="T0042", secretRefs=refs))
        await k8s.eventually(lambda: k8s.is_ready("acme"))

    def env_from(component: str) -> list[str]:
        deploy = k8s.current(k8s.DEPLOY, f"triage-ws-acme-{component}")
        return [e["secretRef"]["name"]
                for e in deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"]]

    router = k8s.current(k8s.DEPLOY, "triage-ws-acme-router")
    assert env_from("router") == ["triage-common", "acme-openai"]
    assert "acme-openai" not in env_from("tools") + env_from("orchestrator")
    assert env_of(router)["TEAM_SCOPE"] == "T0042" and "OPENAI_API_KEY" not in env_of(router)
    filters = await consumer_filters(nats_url, "T0042")
    assert filters["router-T0042"] == "triage.work.model.T0042.>"


async def test_the_workspaces_slack_token_is_mounted_in_its_notifier_only(k8s, nats_url):
    """secretRefs.slack reaches the team's own notifier (envFrom; the ingress image in its
    notifier role), which drains the team's own `notifier-<team>` consumer; the release's
    bot token (WORKER_SLACK_SECRET) is not set beside it."""
    settings = k8s.settings(nats_url, worker_slack_secret="triage-slack")
    async with k8s.operator(settings):
        await k8s.api("POST", body=k8s.workspace("acme", team="T0043",
                                                 secretRefs={"slack": "acme-slack"}))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
    notifier = k8s.current(k8s.DEPLOY, "triage-ws-acme-notifier")
    container = notifier["spec"]["template"]["spec"]["containers"][0]
    assert [e["secretRef"]["name"] for e in container["envFrom"]] == [
        "triage-common", "acme-slack"]
    assert container["image"] == "registry.test/triage-ingress:1.0"
    env = env_of(notifier)
    assert (env["ROLE"], env["TEAM_SCOPE"]) == ("notifier", "T0043")
    assert "SLACK_BOT_TOKEN" not in env
    filters = await consumer_filters(nats_url, "T0043")
    assert filters["notifier-T0043"] == "triage.work.notify.T0043.>"


async def test_resync_repairs_drift_in_cluster_and_nats(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url, resync_interval_s=1.0)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        # Someone deletes a worker by hand; JetStream loses a consumer.
        async with k8s.kmock.delete(
                f"/apis/apps/v1/namespaces/{k8s.NS}/deployments/triage-ws-acme-tools") as resp:
            assert resp.status == 200
        nc = await nats.connect(nats_url)
        await nc.jetstream().delete_consumer("WORK", "tools-T0001")
        await nc.close()
        # (Not asserted absent here: under load a resync may already have put it back.)

        await k8s.eventually(lambda: k8s.current(k8s.DEPLOY, "triage-ws-acme-tools"))

        # Waited on, not asserted once: a resync that began before the consumer was
        # deleted brings the Deployment back without it; the next one repairs it.
        async def repaired() -> bool:
            filters = await consumer_filters(nats_url, "T0001")
            return filters["tools-T0001"] == "triage.work.tool.T0001.>"

        await k8s.eventually_async(repaired)
        await k8s.eventually(lambda: k8s.is_ready("acme"))
