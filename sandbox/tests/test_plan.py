"""The dev launcher's decisions: sandbox exactly where no credentials are configured."""

import json
from pathlib import Path

from triage_sandbox.github.state import BOT
from triage_sandbox.plan import add_replica, make_plan, split_notifier


def test_no_credentials_means_everything_sandboxed(tmp_path: Path) -> None:
    plan = make_plan({}, tmp_path, fixed_ports=False)
    assert all(plan.sandboxed.values())
    names = [p.name for p in plan.processes]
    assert {"slack", "github", "prometheus"} <= set(names)
    tools = plan.process("tools").env
    assert tools["GITHUB_API_URL"] == plan.process("github").url
    assert tools["GITHUB_REPOS"] == "demo-org/checkout-api,demo-org/payments-api"
    # The open stand-in takes no token: the tools learn the bot's login from the plan.
    assert tools["GITHUB_BOT_LOGIN"] == BOT.login and "GITHUB_TOKEN" not in tools
    ingress = plan.process("ingress").env
    assert ingress["SLACK_API_URL"] == plan.process("slack").url + "/api/"
    approval = plan.process("approval").env
    assert approval["DEV_IDENTITY"] == "true"
    # The sandbox team's own approver list; metrics on a port of their own.
    assert approval["APPROVERS"] == "TSANDBOX:U_APPROVER,TSANDBOX:U_LEAD"
    assert int(approval["METRICS_PORT"]) not in {p.port for p in plan.processes}
    assert "IDENTITY_HEADER" not in approval
    # A throwaway grant key pair: the private half for approval only, the public half
    # (the same key id) for the verifiers.
    signer = plan.process("approval").env
    kid = signer["GRANT_SIGNING_KEY_ID"]
    assert signer["GRANT_SIGNING_KEY"].startswith("-----BEGIN PRIVATE KEY-----")
    for verifier in ("tools", "orchestrator"):
        assert list(json.loads(plan.process(verifier).env["GRANT_PUBLIC_KEYS"])) == [kid]
    for proc in plan.processes:
        if proc.name != "approval":
            assert not {"GRANT_SIGNING_KEY", "GRANT_TEAM_SIGNING_KEYS"} & set(proc.env)
            assert "GRANT_SIGNING_KEY" in proc.withheld
    assert "GRANT_PUBLIC_KEYS" not in signer


def test_real_credentials_replace_the_stand_ins(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-real", "SLACK_SIGNING_SECRET": "s3cret",
        "GITHUB_TOKEN": "ghp_real", "GITHUB_REPOS": "acme/api",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3",
        "PROMETHEUS_URL": "http://prom:9090", "OPENAI_API_KEY": "sk-real",
        "NATS_URL": "nats://nats:4222",
    }
    plan = make_plan(env, tmp_path, fixed_ports=False)
    assert not any(plan.sandboxed.values())
    assert {p.name for p in plan.processes}.isdisjoint({"slack", "github", "prometheus"})
    assert plan.nats_url == "nats://nats:4222"
    tools = plan.process("tools").env
    assert tools["GITHUB_API_URL"] == "https://ghe.example.com/api/v3"
    assert tools["PROMETHEUS_URL"] == "http://prom:9090"
    assert plan.process("ingress").env["SLACK_API_URL"] == "https://slack.com/api/"
    assert plan.process("approval").env["DEV_IDENTITY"] == "false"
    # The real model comes from the plan's environment, not only from what is inherited.
    assert plan.process("router").env == {**plan.process("router").env,
                                          "OPENAI_API_KEY": "sk-real"}
    assert "openai" not in {p.name for p in plan.processes}


def test_replicas_and_a_split_notifier_get_ports_and_identities_of_their_own(
        tmp_path: Path) -> None:
    plan = make_plan({}, tmp_path, fixed_ports=False)
    replica = add_replica(plan, "tools", 2)
    notifier = split_notifier(plan)
    assert replica.name == "tools-2" and replica.service == "tools"
    assert replica.argv == plan.process("tools").argv
    assert replica.env["GITHUB_REPOS"] == plan.process("tools").env["GITHUB_REPOS"]
    edge = plan.process("ingress")
    assert (edge.env["ROLE"], edge.identity) == ("edge", "ingress")
    assert (notifier.env["ROLE"], notifier.identity) == ("notifier", "notifier")
    ports = [p.port for p in plan.processes]
    assert len(ports) == len(set(ports))
    for proc in (replica, notifier):
        assert proc.env["PORT"] == str(proc.port)
