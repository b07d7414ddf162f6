"""Deciding what the dev stack runs: which outside systems are real (credentials found)
and which are sandboxed, which ports, and each process's environment. Pure: no I/O beyond
reading the environment mapping it is given, so it is easy to test."""

import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from triage_contracts.testing.grant_keys import GrantKeyPair, public_keys_env
from triage_contracts.testing.natsserver import free_port, port_is_free

SERVICES = ("audit", "approval", "router", "tools", "orchestrator", "ingress")
DEFAULT_PORTS = {
    "ingress": 8310, "approval": 8320, "audit": 8330, "orchestrator": 8340, "tools": 8350,
    "router": 8360, "slack": 8370, "github": 8380, "alertmanager": 8385, "prometheus": 8390,
    "openai": 8395, "approval-metrics": 8321, "chaos": 8300,
}
SANDBOX_REPOS = "demo-org/checkout-api,demo-org/payments-api"
SANDBOX_SERVICES = "demo-org/checkout-api=checkout-api,demo-org/payments-api=payments-api"
# The story the GitHub, Prometheus and Alertmanager stand-ins tell (SANDBOX_WORLD to change):
# the demo incident plus its pull requests, sev1 issues, alerts and a prompt-injection issue.
SANDBOX_WORLD = "oncall"
WORLD_STANDINS = ("github", "prometheus", "alertmanager")
# Who the GitHub stand-in authors the bot's comments as (`github/state.py` BOT).
SANDBOX_GITHUB_BOT = "triage-bot"
SANDBOX_TEAM = "TSANDBOX"
# Demo people of the sandbox workspace: a requester and two approvers (the sandbox team's
# own list, as a Workspace resource would give it in Kubernetes).
SANDBOX_APPROVERS = f"{SANDBOX_TEAM}:U_APPROVER,{SANDBOX_TEAM}:U_LEAD"
# The private grant key reaches the approval service only: never inherited by the others.
SIGNER_ONLY_ENV = ("GRANT_SIGNING_KEY", "GRANT_SIGNING_KEY_ID", "GRANT_TEAM_SIGNING_KEYS")
# The world stand-ins' control token (see `world_control.py`); plan.py stays import-light.
CONTROL_ENV = "SANDBOX_CONTROL_TOKEN"


def pick_port(name: str, fixed: bool) -> int:
    """The service's usual port when `fixed` and free, else any free one (a replica or a
    split-off role has no usual port)."""
    preferred = DEFAULT_PORTS.get(name) if fixed else None
    if preferred is not None and port_is_free(preferred):
        return preferred
    return free_port()


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    ready_path: str = "/readyz"  # "" = ready when the port accepts connections
    # Variables of the launcher's own environment this process must not inherit.
    withheld: tuple[str, ...] = ()
    # Its NATS identity when not the one its name implies (a split-off role).
    identity: str = ""
    # The service a replica (`tools-2`) runs; its identity is that service's.
    service: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Plan:
    data_dir: Path
    nats_url: str | None  # None: start the embedded server
    sandboxed: dict[str, bool]
    processes: list[Process] = field(default_factory=list)
    signing_secret: str = ""
    bot_token: str = ""
    service_token: str = ""
    world: str = SANDBOX_WORLD
    scripted_model: bool = False
    model_token: str = ""
    # Lets evals replace the world stand-ins' world while they run (`world_control.py`);
    # made per start and given to those stand-ins only, never to a service.
    control_token: str = ""
    # The chaos page, served by the `triage-dev` process itself (`chaos/`).
    chaos_port: int = 0

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def describe(self) -> list[str]:
        lines = []
        for system, sandboxed in self.sandboxed.items():
            where = "SANDBOX stand-in" if sandboxed else "real (configured)"
            if system == "models" and sandboxed:
                where = ("SANDBOX scripted model (OpenAI protocol)" if self.scripted_model
                         else "offline rules agent (no OPENAI_API_KEY)")
            lines.append(f"{system:<12} {where}")
        return lines


def _secret(env: dict[str, str], name: str, sandbox_value: str) -> str:
    return env.get(name) or sandbox_value


def make_plan(env: dict[str, str], data_dir: Path, fixed_ports: bool = True) -> Plan:
    """What to run, from the environment (already merged with `.env`)."""
    sandboxed = {
        "slack": not (env.get("SLACK_BOT_TOKEN") and env.get("SLACK_SIGNING_SECRET")),
        "github": not env.get("GITHUB_TOKEN"),
        "prometheus": not env.get("PROMETHEUS_URL"),
        # Never fake alerts beside a real Prometheus: without ALERTMANAGER_URL there is none.
        "alertmanager": not env.get("ALERTMANAGER_URL") and not env.get("PROMETHEUS_URL"),
        "models": not env.get("OPENAI_API_KEY"),
    }
    # SANDBOX_MODEL=scripted: the router's OpenAI provider talks to the scripted model
    # stand-in (tests script it per case), so the real SDK path runs without a vendor.
    scripted = env.get("SANDBOX_MODEL") == "scripted" and sandboxed["models"]
    ports = {name: pick_port(name, fixed_ports) for name in DEFAULT_PORTS}
    plan = Plan(data_dir=data_dir, nats_url=env.get("NATS_URL") or None, sandboxed=sandboxed,
                world=env.get("SANDBOX_WORLD") or SANDBOX_WORLD, scripted_model=scripted)
    plan.chaos_port = ports["chaos"]
    plan.model_token = "sk-sandbox-" + secrets.token_hex(12)
    plan.control_token = secrets.token_hex(16)
    plan.signing_secret = _secret(env, "SLACK_SIGNING_SECRET", "sandbox-" + secrets.token_hex(16))
    plan.bot_token = _secret(env, "SLACK_BOT_TOKEN", "xoxb-sandbox-" + secrets.token_hex(8))
    plan.service_token = env.get("SERVICE_TOKEN") or secrets.token_hex(16)
    standins = _standins(plan, ports)
    plan.processes = standins + _services(plan, env, ports)
    return plan


def _standins(plan: Plan, ports: dict[str, int]) -> list[Process]:
    out = []
    for name in ("slack", "github", "prometheus", "alertmanager", "openai"):
        if not (plan.scripted_model if name == "openai" else plan.sandboxed[name]):
            continue
        argv = [sys.executable, "-m", "triage_sandbox.standins", name, "--port", str(ports[name])]
        env: dict[str, str] = {}
        if name in WORLD_STANDINS:
            argv += ["--world", plan.world]
            env = {CONTROL_ENV: plan.control_token}
        if name == "openai":
            argv += ["--token", plan.model_token]
        if name == "slack":
            argv += ["--token", plan.bot_token]
            # The sandbox channel page signs what it sends to ingress, exactly as Slack does.
            env = {"SANDBOX_SIGNING_SECRET": plan.signing_secret,
                   "SANDBOX_INGRESS_URL": f"http://127.0.0.1:{ports['ingress']}",
                   "SANDBOX_APPROVAL_URL": f"http://127.0.0.1:{ports['approval']}"}
        out.append(Process(name, argv, env, ports[name], ready_path="",
                           withheld=SIGNER_ONLY_ENV))
    return out


def _services(plan: Plan, env: dict[str, str], ports: dict[str, int]) -> list[Process]:
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    db_dir = plan.data_dir
    common = {
        "HOST": "127.0.0.1",
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "ENVIRONMENT": env.get("ENVIRONMENT", "development"),
        "PYTHONUNBUFFERED": "1",
    }
    signer, verifier = _grant_keys(env)
    repos = env.get("GITHUB_REPOS") or (SANDBOX_REPOS if plan.sandboxed["github"] else "")
    labels = env.get("SERVICE_LABELS") or (SANDBOX_SERVICES if plan.sandboxed["github"] else "")
    specific: dict[str, dict[str, str]] = {
        "ingress": {
            "SLACK_SIGNING_SECRET": plan.signing_secret, "SLACK_BOT_TOKEN": plan.bot_token,
            "SLACK_API_URL": f"{url['slack']}/api/" if plan.sandboxed["slack"]
            else env.get("SLACK_API_URL", "https://slack.com/api/"),
            # The stand-in's response_urls (real Slack's are under https://hooks.slack.com/).
            **({"SLACK_RESPONSE_URL_PREFIX": f"{url['slack']}/sandbox/response/"}
               if plan.sandboxed["slack"] else {}),
            "APPROVAL_URL": url["approval"], "SERVICE_TOKEN": plan.service_token,
        },
        "tools": {
            "GITHUB_API_URL": url["github"] if plan.sandboxed["github"]
            else env.get("GITHUB_API_URL", "https://api.github.com"),
            "GITHUB_TOKEN": env.get("GITHUB_TOKEN", ""),
            # The open stand-in takes no token, so /user cannot say who writes: its bot.
            "GITHUB_BOT_LOGIN": SANDBOX_GITHUB_BOT if plan.sandboxed["github"]
            else env.get("GITHUB_BOT_LOGIN", ""),
            "GITHUB_REPOS": repos,
            "PROMETHEUS_URL": url["prometheus"] if plan.sandboxed["prometheus"]
            else env["PROMETHEUS_URL"],
            "ALERTMANAGER_URL": url["alertmanager"] if plan.sandboxed["alertmanager"]
            else env.get("ALERTMANAGER_URL", ""),
            "SERVICE_LABELS": labels, **verifier,
        },
        "router": {"OPENAI_API_KEY": plan.model_token, "OPENAI_BASE_URL": f"{url['openai']}/v1"}
        if plan.scripted_model else
        # A real model: the plan's environment says which (not only the launcher's own).
        {k: env[k] for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if env.get(k)},
        "orchestrator": {"GITHUB_REPOS": repos, "APPROVAL_PUBLIC_URL": url["approval"],
                         "SERVICE_LABELS": labels, **verifier,
                         # Evals' expiry cases start a stack whose approvals expire soon.
                         **({"APPROVAL_TTL_S": env["APPROVAL_TTL_S"]}
                            if env.get("APPROVAL_TTL_S") else {})},
        "audit": {"DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{db_dir}/audit.db"},
        "approval": {
            "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{db_dir}/approval.db",
            "APPROVERS": env.get("APPROVERS")
            or (SANDBOX_APPROVERS if plan.sandboxed["slack"] else ""),
            # The 'act as' selector: the sandbox only (the service refuses it in production
            # and logs "DEV IDENTITY" at start). With real Slack, approvers sign in with the
            # OIDC_* / PROXY_* settings passed through from the environment.
            "DEV_IDENTITY": "true" if plan.sandboxed["slack"] else "false",
            "PUBLIC_URL": url["approval"], "SERVICE_TOKEN": plan.service_token,
            "METRICS_PORT": str(ports["approval-metrics"]), **signer,
        },
    }
    out = []
    for name in SERVICES:
        process_env = {**common, **specific[name], "PORT": str(ports[name])}
        if not process_env.get("GITHUB_TOKEN", "x"):
            process_env.pop("GITHUB_TOKEN")
        argv = [sys.executable, "-m", f"triage_{name}"]
        withheld = (CONTROL_ENV,) if name == "approval" else (*SIGNER_ONLY_ENV, CONTROL_ENV)
        out.append(Process(name, argv, process_env, ports[name], withheld=withheld))
    return out


def add_replica(plan: Plan, name: str, index: int) -> Process:
    """A second (third...) process of service `name`, as `<name>-<index>` on a port of its
    own: replicas share the durable consumers, so JetStream spreads the work among them."""
    base = plan.process(name)
    port = pick_port(name, fixed=False)
    replica = Process(f"{name}-{index}", base.argv, {**base.env, "PORT": str(port)}, port,
                      base.ready_path, base.withheld, base.identity, service=name)
    plan.processes.append(replica)
    return replica


def split_notifier(plan: Plan) -> Process:
    """Run the notifier apart from the Slack edge (ROLE=notifier beside ROLE=edge), as the
    chart does, so each can fail alone; the dev stack runs both in one process."""
    edge = plan.process("ingress")
    edge.env["ROLE"], edge.identity = "edge", "ingress"
    port = pick_port("ingress", fixed=False)
    notifier = Process("notifier", edge.argv, {**edge.env, "ROLE": "notifier",
                                               "PORT": str(port)}, port,
                       edge.ready_path, edge.withheld, "notifier")
    plan.processes.append(notifier)
    return notifier


def _grant_keys(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(approval's signing key env, the verifiers' public keys env): the configured ones,
    else a throwaway pair made for this run (its private half in memory only)."""
    if env.get("GRANT_SIGNING_KEY"):
        signer = {k: env[k] for k in SIGNER_ONLY_ENV if env.get(k)}
        return signer, {"GRANT_PUBLIC_KEYS": env.get("GRANT_PUBLIC_KEYS", "")}
    pair = GrantKeyPair.generate()
    return pair.signer_env(), public_keys_env(pair)
