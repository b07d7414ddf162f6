"""Values are a typed, documented interface: values.schema.json rejects wrong types and unknown
keys, required secret references fail with a message that says what to create, and every key
of values.yaml carries a comment."""

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from chartkit import CHART, RenderError

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
# Keys every component shares, documented once in values.yaml's "Components" header.
WORKLOAD_KEYS = {"replicaCount", "image", "resources", "autoscaling", "lagThreshold",
                 "podAnnotations", "nodeSelector", "tolerations", "affinity",
                 "topologySpreadConstraints", "extraEnv", "requests", "limits", "minReplicas",
                 "maxReplicas", "targetCPUUtilizationPercentage", "enabled"}
COMPONENTS = {"ingress", "notifier", "orchestrator", "tools", "router", "audit", "approval",
              "operator"}


@pytest.mark.parametrize(("values", "message"), [
    ({"ingress": {"replicaCount": "three"}},
     "at '/ingress/replicaCount': got string, want integer"),
    ({"keda": {"enabled": "yes"}}, "at '/keda/enabled': got string, want boolean"),
    ({"router": {"dailyBudgetUsd": -1}}, "at '/router/dailyBudgetUsd'"),
    ({"nats": {"url": "http://nats:4222"}}, "at '/nats/url': 'http://nats:4222' does not match"),
    ({"approval": {"approvers": "U1,U2"}}, "at '/approval/approvers': got string, want array"),
])
async def test_wrong_types_are_rejected_with_the_path(render, values, message) -> None:
    with pytest.raises(RenderError) as exc:
        await render(values)
    assert "values don't meet the specifications of the schema" in str(exc.value)
    assert message in str(exc.value)


@pytest.mark.parametrize(("values", "message"), [
    ({"ingres": {"enabled": True}}, "at '': additional properties 'ingres' not allowed"),
    ({"tools": {"githubToken": "ghp_x"}}, "at '/tools': additional properties 'githubToken'"),
    ({"keda": {"lagThreshold": 5}}, "at '/keda': additional properties 'lagThreshold'"),
    # The shared HMAC key is gone: a values file still naming it is refused, not ignored.
    ({"secrets": {"approval": {"signingKeyKey": "signing-key"}}},
     "at '/secrets/approval': additional properties 'signingKeyKey' not allowed"),
])
async def test_unknown_keys_are_rejected(render, values, message) -> None:
    with pytest.raises(RenderError) as exc:
        await render(values)
    assert message in str(exc.value)


@pytest.mark.parametrize(("keys", "message"), [
    ({"bad id!": "QUJD"}, "'bad id!' does not match pattern"),
    ({"k1": ""}, "at '/grants/publicKeys/k1'"),
    ({"k1": {"team": "T1"}}, "at '/grants/publicKeys/k1'"),
    ({"k1": {"key": "QUJD", "team": "lowercase"}}, "at '/grants/publicKeys/k1'"),
])
async def test_malformed_grant_public_keys_are_refused(render, keys, message) -> None:
    with pytest.raises(RenderError) as exc:
        await render({"grants": {"publicKeys": keys}})
    assert message in str(exc.value)


async def test_missing_secret_reference_says_what_to_create(render) -> None:
    with pytest.raises(RenderError) as exc:
        await render({"secrets": {"database": {"existingSecret": ""}}})
    assert ('secrets.database.existingSecret is required: the name of an existing Secret '
            'holding key "approval-url" for DATABASE_URL') in str(exc.value)


async def test_removed_secret_reference_is_a_schema_error(render) -> None:
    with pytest.raises(RenderError) as exc:
        await render({"secrets": {"slack": {"existingSecret": None}}})
    assert "at '/secrets/slack': missing property 'existingSecret'" in str(exc.value)


async def test_optional_secrets_may_be_left_out(render) -> None:
    rendered = await render({"secrets": {"openai": {"existingSecret": ""}}})
    router = rendered.get("Deployment", "triage-router")["spec"]["template"]["spec"]
    env = router["containers"][0]["env"]
    assert "OPENAI_API_KEY" not in {e["name"] for e in env}


def test_defaults_satisfy_the_schema_and_the_schema_is_closed() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(DEFAULTS)
    for path, node in _objects(SCHEMA):
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"


def _objects(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, child in node.items():
            found.extend(_objects(child, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.extend(_objects(child, f"{path}/{index}"))
    return found


def test_every_values_key_is_documented() -> None:
    """Each key has a comment right above it (or, for a component's common workload keys,
    in the Components header); parents of documented groups are exempt."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    parents: list[str] = []
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if not match:
            continue
        depth = len(match.group(1)) // 2
        parents = parents[:depth] + [match.group(2)]
        if depth > 2 or _commented(lines, number) or _is_group(lines, number):
            continue
        if parents[0] in COMPONENTS and parents[-1] in WORKLOAD_KEYS:
            continue
        undocumented.append(".".join(parents))
    assert not undocumented, f"values.yaml keys without a comment: {undocumented}"


def _commented(lines: list[str], number: int) -> bool:
    previous = lines[number - 1].strip() if number else ""
    return previous.startswith("#")


def _is_group(lines: list[str], number: int) -> bool:
    """A block whose first child is documented (e.g. `secrets.slack:` then `# -- ...`)."""
    return lines[number].rstrip().endswith(":") and number + 1 < len(lines) and \
        lines[number + 1].strip().startswith("#")


@pytest.mark.parametrize("value", [0, "0", "0%"])
async def test_a_disruption_budget_that_blocks_every_drain_is_refused(render, value) -> None:
    with pytest.raises(RenderError) as exc:
        await render({"pdb": {"maxUnavailable": value}})
    assert "at '/pdb/maxUnavailable'" in str(exc.value)


async def test_min_replicas_above_max_replicas_is_refused(render) -> None:
    with pytest.raises(RenderError) as exc:
        await render({"tools": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}})
    assert "tools.autoscaling.minReplicas (5) must not exceed maxReplicas (2)" in str(exc.value)
    await render({"tools": {"autoscaling": {"minReplicas": 2, "maxReplicas": 2}}})  # equal: ok
