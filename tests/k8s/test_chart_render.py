"""The chart installs (Helm's library against kmock's emulated API) for every value set, and
every object it renders is valid for a current Kubernetes: core kinds against the official
schemas in strict mode (unknown fields rejected), KEDA's ScaledObject against its shape."""

import importlib
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from chartkit import KUBE_VERSION, VALUE_SETS, load_values
from triage_contracts import lag
from triage_contracts.streams import STREAMS, Consumers

# KEDA's ScaledObject is a CRD, absent from the Kubernetes schemas: the fields this chart
# uses, as KEDA v2 documents them (metadata values of a trigger are strings).
NATS_TRIGGER_KEYS = ["natsServerMonitoringEndpoint", "account", "stream", "consumer",
                     "lagThreshold"]
SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object", "additionalProperties": False, "required": ["name"],
                    "properties": {"apiVersion": {"type": "string"},
                                   "kind": {"const": "Deployment"},
                                   "name": {"type": "string"}}},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "triggers": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["type", "metadata"],
                    "properties": {
                        "type": {"const": "nats-jetstream"},
                        "metadata": {
                            "type": "object", "required": NATS_TRIGGER_KEYS,
                            "additionalProperties": {"type": "string", "minLength": 1}}}}},
            },
        },
    },
}


def validate(manifest: dict[str, Any]) -> None:
    if manifest["apiVersion"].startswith("keda.sh/"):
        jsonschema.validate(manifest, SCALED_OBJECT_SCHEMA)
        return
    kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
async def test_every_rendered_object_is_valid_kubernetes(render, value_set) -> None:
    rendered = await render(load_values(value_set))
    assert len(rendered.manifests) > 30
    for manifest in rendered.manifests:
        try:
            validate(manifest)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            pytest.fail(f"{manifest['kind']} {manifest['metadata']['name']}: {exc.message}")
    # Helm really applied them: the emulated API server holds every object (but the
    # `helm test` pod, which only `helm test` creates).
    stored = {(key[0].plural, key[2]) for key in rendered.api.objects.keys()}
    for manifest in rendered.manifests:
        if manifest["metadata"].get("annotations", {}).get("helm.sh/hook") == "test":
            continue
        plural = manifest["kind"].lower() + ("es" if manifest["kind"].endswith("ss") else "s")
        plural = {"networkpolicys": "networkpolicies"}.get(plural, plural)
        assert (plural, manifest["metadata"]["name"]) in stored, manifest["kind"]


async def test_defaults_scale_workers_on_cpu(render) -> None:
    rendered = await render({})
    assert not rendered.of_kind("ScaledObject")
    hpas = {h["metadata"]["name"] for h in rendered.of_kind("HorizontalPodAutoscaler")}
    assert hpas == {"triage-ingress", "triage-notifier", "triage-orchestrator", "triage-tools",
                    "triage-router"}
    for name in hpas:  # the HPA owns the replica count; Helm must not reset it on upgrade
        assert "replicas" not in rendered.get("Deployment", name)["spec"]
    metric = rendered.get("HorizontalPodAutoscaler", "triage-router")["spec"]["metrics"][0]
    assert metric["resource"]["name"] == "cpu"


async def test_keda_scales_queue_workers_on_consumer_lag(render) -> None:
    rendered = await render(load_values("keda"))
    scaled = {s["metadata"]["name"]: s for s in rendered.of_kind("ScaledObject")}
    assert set(scaled) == {"triage-notifier", "triage-orchestrator", "triage-tools",
                           "triage-router", "triage-audit"}
    # Never an HPA and a ScaledObject for one Deployment (KEDA makes its own HPA).
    hpas = {h["metadata"]["name"] for h in rendered.of_kind("HorizontalPodAutoscaler")}
    assert hpas == {"triage-ingress"}
    router = scaled["triage-router"]["spec"]
    assert router["scaleTargetRef"]["name"] == "triage-router"
    assert (router["minReplicaCount"], router["maxReplicaCount"]) == (1, 20)
    trigger = router["triggers"][0]["metadata"]
    assert trigger == {"natsServerMonitoringEndpoint": "nats-headless.nats.svc.cluster.local:8222",
                       "account": "$G", "stream": "WORK", "consumer": "router",
                       "lagThreshold": "3", "useHttps": "false"}
    deployments = {d["metadata"]["name"] for d in rendered.of_kind("Deployment")}
    for obj in scaled.values():
        assert obj["spec"]["scaleTargetRef"]["name"] in deployments


async def test_keda_triggers_name_the_consumers_the_services_create(render) -> None:
    """Stream and consumer names in the triggers are the contracts' durable consumers, so the
    scaler reads the lag of a consumer that exists."""
    rendered = await render(load_values("keda"))
    known = {(spec.stream, spec.durable) for spec in Consumers.all()}
    streams = {spec.name for spec in STREAMS}
    triggers = [trigger["metadata"] for scaled in rendered.of_kind("ScaledObject")
                for trigger in scaled["spec"]["triggers"]]
    assert len(triggers) == 7
    for meta in triggers:
        assert meta["stream"] in streams
        assert (meta["stream"], meta["consumer"]) in known


async def test_orchestrator_scales_on_every_consumer_it_drains(render) -> None:
    """Events, results and approval decisions: a backlog of decisions is work too."""
    rendered = await render(load_values("keda"))
    triggers = rendered.get("ScaledObject", "triage-orchestrator")["spec"]["triggers"]
    orchestrator = [Consumers.ORCHESTRATOR_EVENTS, Consumers.ORCHESTRATOR_RESULTS,
                    Consumers.ORCHESTRATOR_DECISIONS]
    assert [(t["metadata"]["stream"], t["metadata"]["consumer"]) for t in triggers] == \
        [(spec.stream, spec.durable) for spec in orchestrator]


@pytest.mark.parametrize("value_set", ["defaults", "workspaces"])
async def test_pod_templates_carry_the_common_and_version_labels(render, value_set) -> None:
    rendered = await render(load_values(value_set))
    templates = [(w["metadata"]["name"], w["spec"]["template"]["metadata"]["labels"])
                 for w in rendered.of_kind("Deployment") + rendered.of_kind("Job")]
    assert templates
    for name, labels in templates:
        assert labels["app.kubernetes.io/version"] and labels["helm.sh/chart"], name
        assert labels["app.kubernetes.io/part-of"] == "triage", name
        assert labels["app.kubernetes.io/managed-by"] == "Helm", name
    for deploy in rendered.of_kind("Deployment"):  # the selector still matches its pods
        selector = deploy["spec"]["selector"]["matchLabels"].items()
        assert selector <= deploy["spec"]["template"]["metadata"]["labels"].items()


async def test_team_scoped_release_scales_on_the_team_consumers(render) -> None:
    values = load_values("keda") | {"config": {"teamScope": "T0ACME", "environment": "production",
                                               "logLevel": "INFO", "logJson": True,
                                               "githubRepos": []}}
    rendered = await render(values)
    router = rendered.get("ScaledObject", "triage-router")["spec"]["triggers"][0]["metadata"]
    assert router["consumer"] == Consumers.ROUTER.for_team("T0ACME").durable
    assert rendered.get("ConfigMap", "triage-env")["data"]["TEAM_SCOPE"] == "T0ACME"


async def test_ha_values_spread_and_replicate(render) -> None:
    rendered = await render(load_values("ha"))
    env = rendered.get("ConfigMap", "triage-env")["data"]
    assert env["NATS_REPLICAS"] == "3"
    audit = rendered.get("Deployment", "triage-audit")
    assert audit["spec"]["replicas"] == 3
    spread = audit["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone",
                                                  "kubernetes.io/hostname"]
    assert spread[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "audit"
    pdbs = rendered.of_kind("PodDisruptionBudget")
    assert {p["spec"]["maxUnavailable"] for p in pdbs} == {1}
    assert len(pdbs) == len(rendered.of_kind("Deployment"))
    tls = rendered.get("Ingress", "triage-approval")["spec"]["tls"]
    assert tls == [{"hosts": ["approvals.acme.example"], "secretName": "approvals-tls"}]


# The process behind each scaled Deployment: its package and settings.
SCALED_SERVICES = {"triage-orchestrator": ("orchestrator", {}), "triage-router": ("router", {}),
                   "triage-tools": ("tools", {}), "triage-audit": ("audit", {}),
                   "triage-notifier": ("ingress", {"role": "notifier"})}


@pytest.mark.parametrize("team", ["", "T0ACME"])
async def test_the_lag_metric_and_the_keda_triggers_name_the_same_consumers(render,
                                                                          team) -> None:
    """Each worker's `triage_consumer_lag` covers exactly the (stream, consumer) pairs its
    ScaledObject reads, so a dashboard shows what KEDA scales on."""
    values = load_values("keda")
    if team:
        values |= {"config": {"teamScope": team, "environment": "production",
                              "logLevel": "INFO", "logJson": True, "githubRepos": []}}
    rendered = await render(values)
    for name, (service, settings) in SCALED_SERVICES.items():
        triggers = rendered.get("ScaledObject", name)["spec"]["triggers"]
        app = importlib.import_module(f"triage_{service}.app")
        config = importlib.import_module(f"triage_{service}.settings").Settings(
            _env_file=None, team_scope=team or None, **settings)
        metrics = lag.of(app.build_app(config).state.broker)
        assert metrics is not None, name
        assert [(t["metadata"]["stream"], t["metadata"]["consumer"]) for t in triggers] == [
            (spec.stream, spec.durable) for spec in metrics.consumers], name
