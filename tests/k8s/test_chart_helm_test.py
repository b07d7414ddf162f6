"""`helm test` and pinned images in the rendered chart: the test hook pod runs the ingress's
selftest (proven against real parts in services/ingress/tests/test_selftest.py) with
arguments that name this release's Services, and a digest pins an image."""

from typing import Any

import pytest
from chartkit import RenderError, load_values
from triage_ingress.selftest import parser

COMPONENTS = {"ingress", "notifier", "orchestrator", "tools", "router", "audit", "approval",
              "operator"}
DIGEST = "sha256:" + "ab" * 32


def hook_pod(rendered: Any) -> dict[str, Any]:
    (pod,) = [p for p in rendered.of_kind("Pod")
              if p["metadata"]["annotations"].get("helm.sh/hook") == "test"]
    return pod


async def test_the_hook_checks_every_component_nats_and_the_signature_path(render) -> None:
    rendered = await render(load_values("defaults"))
    pod = hook_pod(rendered)
    meta = pod["metadata"]
    assert meta["annotations"]["helm.sh/hook-delete-policy"] == \
        "before-hook-creation,hook-succeeded"  # a failed test pod stays for its logs
    assert meta["labels"]["app.kubernetes.io/component"] == "tests"
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["image"].startswith("ghcr.io/triage-agent/triage-ingress:")
    command, *options = container["args"]
    assert command == "selftest"
    args = parser().parse_args(options)
    services = {s["metadata"]["name"]: s for s in rendered.of_kind("Service")}
    ready = dict(entry.split("=", 1) for entry in args.ready)
    assert set(ready) == COMPONENTS
    for name, url in ready.items():  # each a Service of this release, on its http port
        host, port = url.removeprefix("http://").split(":")
        assert services[host]["spec"]["selector"]["app.kubernetes.io/component"] == name
        assert port == "8080"
    assert args.nats == "nats://nats.nats.svc.cluster.local:4222"  # values.yaml nats.url
    assert args.ingress == "http://triage-ingress:8080"
    (env,) = container["env"]
    assert env["name"] == "SLACK_SIGNING_SECRET"
    assert env["valueFrom"]["secretKeyRef"] == {"name": "triage-slack", "key": "signing-secret"}


async def test_disabled_components_are_not_checked(render) -> None:
    values = load_values("defaults")
    values["notifier"] = {**values.get("notifier", {}), "enabled": False}
    values["operator"] = {**values.get("operator", {}), "enabled": False}
    args = parser().parse_args(hook_pod(await render(values))["spec"]["containers"][0]
                               ["args"][1:])
    assert {entry.split("=")[0] for entry in args.ready} == COMPONENTS - {"notifier",
                                                                          "operator"}


async def test_tests_off_renders_no_pod_and_opens_nothing(render) -> None:
    values = load_values("defaults")
    values["tests"] = {"enabled": False, "image": {"repository": "", "tag": "", "digest": "",
                                                  "pullPolicy": ""}}
    rendered = await render(values)
    assert not rendered.of_kind("Pod")
    names = {p["metadata"]["name"] for p in rendered.of_kind("NetworkPolicy")}
    assert "triage-tests" not in names
    for policy in rendered.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                labels = peer.get("podSelector", {}).get("matchLabels", {})
                assert labels.get("app.kubernetes.io/component") != "tests"


async def test_a_digest_pins_the_image_and_pull_policy_is_per_component(render) -> None:
    values = load_values("defaults")
    values["tools"] = {**values.get("tools", {}),
                       "image": {"repository": "", "tag": "v9", "digest": DIGEST,
                                 "pullPolicy": "Always"}}
    values["ingress"] = {**values.get("ingress", {}),
                         "image": {"repository": "registry.acme/triage-ingress", "tag": "",
                                   "digest": DIGEST, "pullPolicy": ""}}
    rendered = await render(values)

    def container(name: str) -> dict[str, Any]:
        deployment = rendered.get("Deployment", f"triage-{name}")
        return deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]

    assert container("tools")["image"] == f"ghcr.io/triage-agent/triage-tools@{DIGEST}"
    assert container("tools")["imagePullPolicy"] == "Always"
    assert container("ingress")["image"] == f"registry.acme/triage-ingress@{DIGEST}"
    assert container("ingress")["imagePullPolicy"] == "IfNotPresent"
    assert container("router")["image"].startswith("ghcr.io/triage-agent/triage-router:")
    # The test pod runs exactly the ingress image the release runs.
    assert hook_pod(rendered)["spec"]["containers"][0]["image"] == \
        f"registry.acme/triage-ingress@{DIGEST}"
    # The operator's workers are pinned like the shared ones.
    operator_env = {e["name"]: e.get("value") for e in container("operator")["env"]}
    assert operator_env["WORKER_IMAGE_TOOLS"] == f"ghcr.io/triage-agent/triage-tools@{DIGEST}"


@pytest.mark.parametrize("digest", ["latest", "sha256:abc", "md5:" + "ab" * 16])
async def test_a_malformed_digest_is_refused(render, digest: str) -> None:
    values = load_values("defaults")
    values["router"] = {**values.get("router", {}),
                        "image": {"repository": "", "tag": "", "digest": digest,
                                  "pullPolicy": ""}}
    with pytest.raises(RenderError, match="digest"):
        await render(values)
