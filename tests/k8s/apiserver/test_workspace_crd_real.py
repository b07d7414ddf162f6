"""The chart's Workspace CRD on a real Kubernetes API server: what the server itself enforces
(structural schema, CEL rules, defaults, pruning, printer columns, the status subresource),
which an emulator only approximates."""

from typing import Any

import httpx
from apiserverkit import NS, WS_URL

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
MERGE = {"Content-Type": "application/merge-patch+json"}


def workspace(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "triage.dev/v1alpha1", "kind": "Workspace",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"teamId": "T0001"} | spec}


def refused(kube: httpx.Client, body: dict[str, Any]) -> str:
    """The server's 422 message for an object it must refuse."""
    resp = kube.post(WS_URL, json=body)
    assert resp.status_code == 422, resp.text
    return str(resp.json()["message"])


def test_structural_schema_refuses_bad_objects(kube):
    assert "spec.teamId" in refused(kube, workspace("bad-team", teamId="acme"))
    missing = workspace("no-team")
    del missing["spec"]["teamId"]
    assert "spec.teamId: Required value" in refused(kube, missing)
    assert "spec.workers.replicas" in refused(kube, workspace("many", workers={"replicas": 21}))
    assert "spec.channels[0]" in refused(kube, workspace("chan", channels=["#general"]))
    assert "spec.budgetUsdPerDay" in refused(kube, workspace("neg", budgetUsdPerDay=-1))
    assert "spec.natsUrl" in refused(kube, workspace("url", natsUrl="http://nats:4222"))
    route = {"draft": [{"provider": "anthropic", "model": "m"}]}
    assert "provider" in refused(kube, workspace("prov", modelRoutes=route))
    names = [item["metadata"]["name"] for item in kube.get(WS_URL).json()["items"]]
    assert not {"bad-team", "no-team", "many", "chan", "neg", "url", "prov"} & set(names)


def test_cel_rule_refuses_bad_route_names(kube):
    routes = {"Draft Route": [{"provider": "openai", "model": "gpt-4o-mini"}]}
    assert "route names must match" in refused(kube, workspace("cel", modelRoutes=routes))

    good = {"draft": [{"provider": "openai", "model": "gpt-4o-mini"}]}
    assert kube.post(WS_URL, json=workspace("cel-ok", modelRoutes=good)).status_code == 201


def test_defaults_fill_workers_and_budget(kube):
    resp = kube.post(WS_URL, json=workspace("defaults"))
    assert resp.status_code == 201, resp.text
    spec = resp.json()["spec"]
    assert spec["workers"] == {"replicas": 1}  # `workers: {}` default, then its field's
    assert spec["budgetUsdPerDay"] == 5

    resp = kube.post(WS_URL, json=workspace("explicit", workers={"replicas": 3},
                                            budgetUsdPerDay=0.5))
    assert resp.json()["spec"]["workers"] == {"replicas": 3}
    assert resp.json()["spec"]["budgetUsdPerDay"] == 0.5


def test_unknown_fields_are_pruned(kube):
    body = workspace("pruned", workers={"replicas": 2, "cpus": 4}, colour="blue")
    resp = kube.post(WS_URL, json=body)
    assert resp.status_code == 201, resp.text
    stored = kube.get(f"{WS_URL}/pruned").json()["spec"]
    assert "colour" not in stored and stored["workers"] == {"replicas": 2}


def test_printer_columns_in_table_output(kube):
    kube.post(WS_URL, json=workspace("table", teamId="T0TABLE", workers={"replicas": 4}))
    status = {"status": {"phase": "Ready", "conditions": [
        {"type": "Ready", "status": "True", "reason": "Reconciled"}]}}
    resp = kube.patch(f"{WS_URL}/table/status", json=status, headers=MERGE)
    assert resp.status_code == 200, resp.text

    table = kube.get(f"{WS_URL}/table", headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns == ["Name", "Team", "Phase", "Ready", "Replicas", "Reason", "Age"]
    priority = {c["name"]: c.get("priority", 0) for c in table["columnDefinitions"]}
    assert priority["Reason"] == 1  # shown by `kubectl get -o wide` only
    cells = dict(zip(columns, table["rows"][0]["cells"], strict=True))
    assert (cells["Name"], cells["Team"], cells["Phase"], cells["Ready"],
            cells["Replicas"], cells["Reason"]) == \
        ("table", "T0TABLE", "Ready", "True", 4, "Reconciled")


def test_status_is_a_subresource(kube):
    created = kube.post(WS_URL, json=workspace("sub")).json()
    assert created["metadata"]["generation"] == 1

    # A write of the main resource ignores status (only the operator's /status writes it)...
    body = created | {"status": {"phase": "Ready"}}
    body["spec"]["channels"] = ["C0002"]
    updated = kube.put(f"{WS_URL}/sub", json=body).json()
    assert "status" not in updated or updated["status"].get("phase") is None
    assert updated["metadata"]["generation"] == 2  # a spec change bumps the generation

    # ...and a /status write changes status only, without a new generation.
    patch = {"status": {"phase": "Degraded", "observedGeneration": 2},
             "spec": {"channels": ["C0003"]}}
    after = kube.patch(f"{WS_URL}/sub/status", json=patch, headers=MERGE).json()
    assert after["status"]["phase"] == "Degraded"
    assert after["spec"]["channels"] == ["C0002"]
    assert after["metadata"]["generation"] == 2

    bad = kube.patch(f"{WS_URL}/sub/status", json={"status": {"phase": "Sleeping"}},
                     headers=MERGE)
    assert bad.status_code == 422 and "status.phase" in bad.json()["message"]
