"""Who may do what on NATS: the least-privilege permission matrix, as data.

One `Identity` per connecting process kind (a NATS user of the same name), each with the
subjects it may publish to and subscribe to, built from the subject, stream, consumer and
bucket definitions of this package, so a renamed stream or consumer moves its grants too.
`natsauth.py` renders the matrix into a nats-server `authorization` block (tests, the dev
server) and the official NATS chart's values (`charts/triage/nats-values.yaml`).

Invariants the tests check against a real server:
- only approval publishes decisions; only the notifier (and `ingress-all`, the one-process
  edge+notifier) consumes notify work; only audit reads AUDIT; only the edge publishes
  install events and only the install controller consumes them;
- only the provisioner creates or updates streams, buckets and object stores; nobody
  deletes or purges a stream (the object store's purge of replaced chunks excepted);
- a service writes only its own audit and dead-letter subjects and its own key prefixes;
- request replies arrive on `_INBOX.<identity>.>` (each client's own inbox prefix), so no
  identity can listen to another's JetStream API answers or pulled messages.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import subjects as s
from .streams import STREAMS, Buckets, Consumers, ConsumerSpec, ObjectStores

API = "$JS.API"
INBOX = "_INBOX"
TEST_ADMIN = "test-admin"


def inbox_prefix(identity: str) -> str:
    """The reply-subject prefix a client of `identity` uses (nats-py `inbox_prefix`)."""
    return f"{INBOX}.{s.token(identity)}"


@dataclass(frozen=True)
class Grants:
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    deny_publish: tuple[str, ...] = ()

    def __add__(self, other: "Grants") -> "Grants":
        return Grants(_unique(self.publish + other.publish),
                      _unique(self.subscribe + other.subscribe),
                      _unique(self.deny_publish + other.deny_publish))


@dataclass(frozen=True)
class Identity:
    name: str
    description: str
    grants: Grants = field(default_factory=Grants)

    @property
    def publish(self) -> tuple[str, ...]:
        return self.grants.publish

    @property
    def subscribe(self) -> tuple[str, ...]:
        return (inbox_prefix(self.name) + ".>", *self.grants.subscribe)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _shared_durables(stream: str) -> set[str]:
    return {spec.durable for spec in Consumers.all() if spec.stream == stream}


def _consumer_use(stream: str, name: str) -> tuple[str, ...]:
    return (f"{API}.CONSUMER.CREATE.{stream}.{name}", f"{API}.CONSUMER.CREATE.{stream}.{name}.>",
            f"{API}.CONSUMER.DURABLE.CREATE.{stream}.{name}",
            f"{API}.CONSUMER.INFO.{stream}.{name}", f"{API}.CONSUMER.MSG.NEXT.{stream}.{name}",
            f"$JS.ACK.{stream}.{name}.>")


def consume(spec: ConsumerSpec, team_scoped: bool = False, teams: Iterable[str] = ()) -> Grants:
    """Create/update, inspect, pull from and acknowledge one durable consumer, and its
    per-team twins `<durable>-<team>` for the `teams` a release is scoped to. The workers
    the operator runs per workspace (`team_scoped`) get their stream's consumers by
    wildcard instead, minus every other service's durables (shared and of `teams`) on it."""
    if not team_scoped:
        names = [spec.durable, *(spec.for_team(team).durable for team in teams)]
        return _gave_up(spec.stream, names) + Grants(publish=tuple(
            s for name in names for s in _consumer_use(spec.stream, name)))
    others = sorted({f"{other}-{team}" if team else other
                     for other in _shared_durables(spec.stream) - {spec.durable}
                     for team in ("", *teams)})
    grants = Grants(publish=_consumer_use(spec.stream, "*"), deny_publish=tuple(
        subject for other in others for subject in _consumer_use(spec.stream, other)))
    return _gave_up(spec.stream, ["*"]) + grants


def _gave_up(stream: str, names: list[str]) -> Grants:
    """Dead-lettering what a consumer never acknowledged (`consume.watch_max_deliveries`):
    its MAX_DELIVERIES advisories, and the stored message read back by sequence."""
    return Grants(publish=(f"{API}.STREAM.MSG.GET.{stream}",), subscribe=tuple(
        f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{name}" for name in names))


def _read_stream(stream: str) -> Grants:
    return Grants(publish=(
        f"{API}.STREAM.INFO.{stream}", f"{API}.STREAM.MSG.GET.{stream}",
        f"{API}.DIRECT.GET.{stream}", f"{API}.DIRECT.GET.{stream}.>",
    ))


def _scan_stream(stream: str) -> Grants:
    """An ordered (ephemeral) consumer over a KV or object stream: `keys()`, object reads."""
    return Grants(publish=(
        f"{API}.CONSUMER.CREATE.{stream}", f"{API}.CONSUMER.CREATE.{stream}.>",
        f"{API}.CONSUMER.INFO.{stream}.*", f"{API}.CONSUMER.DELETE.{stream}.*",
        f"$JS.FC.{stream}.>",
    ))


def kv_read(bucket: str, scan: bool = False) -> Grants:
    grants = _read_stream(f"KV_{bucket}")
    return grants + _scan_stream(f"KV_{bucket}") if scan else grants


def kv_write(bucket: str, *prefixes: str) -> Grants:
    """Put/create/update/delete keys under the prefixes (a KV delete is a put of a marker:
    it is granted with the write; purging the bucket's stream never is)."""
    keys = [f"{p}.>" for p in prefixes] or [">"]
    return kv_read(bucket) + Grants(publish=tuple(f"$KV.{bucket}.{k}" for k in keys))


def object_store(bucket: str) -> Grants:
    """Put and read objects; replacing an object purges its old chunks (STREAM.PURGE); a
    read looks its chunk stream up by subject (STREAM.NAMES, names only)."""
    stream = f"OBJ_{bucket}"
    return (_read_stream(stream) + _scan_stream(stream) + Grants(publish=(
        f"$O.{bucket}.>", f"{API}.STREAM.PURGE.{stream}", f"{API}.STREAM.NAMES")))


def emits(service: str, audit: bool = True, dead_letters: bool = True) -> Grants:
    """Audit events and dead letters (a consumer's), only under the service's own token."""
    kinds = [kind for kind, wanted in (("audit", audit), ("dlq", dead_letters)) if wanted]
    return Grants(publish=tuple(f"{s.PREFIX}.{kind}.*.{service}" for kind in kinds))


def publishes(*patterns: str) -> Grants:
    return Grants(publish=tuple(f"{s.PREFIX}.{p}" for p in patterns))


def queue_depth(spec: ConsumerSpec, teams: Iterable[str] = ()) -> Grants:
    """Read how far behind a consumer is (its info, nothing else), and tell the asker in
    a status (the edge's "Queued behind N questions": statuses only, never a message)."""
    names = [spec.durable, *(spec.for_team(team).durable for team in teams)]
    return publishes("work.notify.*.status") + Grants(publish=tuple(
        f"{API}.CONSUMER.INFO.{spec.stream}.{name}" for name in names))


def operator_consumers(streams: Iterable[str]) -> Grants:
    """The operator creates, updates and deletes the per-workspace consumers
    (`<durable>-<team>`), never a shared service's durable (it may only look at one)."""
    streams = tuple(streams)
    return Grants(publish=tuple(
        subject for stream in streams for subject in (
            f"{API}.CONSUMER.CREATE.{stream}.>", f"{API}.CONSUMER.DURABLE.CREATE.{stream}.*",
            f"{API}.CONSUMER.INFO.{stream}.*", f"{API}.CONSUMER.DELETE.{stream}.*")),
        deny_publish=tuple(
            subject for stream in streams for name in sorted(_shared_durables(stream))
            for subject in (
                f"{API}.CONSUMER.CREATE.{stream}.{name}",
                f"{API}.CONSUMER.CREATE.{stream}.{name}.>",
                f"{API}.CONSUMER.DURABLE.CREATE.{stream}.{name}",
                f"{API}.CONSUMER.DELETE.{stream}.{name}")))


def provisioning() -> Grants:
    """Create, update and inspect every stream, bucket and object store; delete nothing."""
    names = ([spec.name for spec in STREAMS] + [f"KV_{b.name}" for b in Buckets.all()]
             + [f"OBJ_{o.name}" for o in ObjectStores.all()])
    return Grants(publish=(f"{API}.INFO", *(
        f"{API}.STREAM.{verb}.{name}" for name in names for verb in ("CREATE", "UPDATE", "INFO"))))


def identities(teams: Iterable[str] = ()) -> tuple[Identity, ...]:
    """The matrix; `teams` adds the per-team consumers of a release scoped to those teams
    (config.teamScope / TEAM_SCOPE)."""
    scoped = tuple(teams)
    # The notifier may run per workspace too (the operator's notifier-<team>, with the
    # team's own Slack token), so it gets WORK's consumers by wildcard like the workers.
    notifier = (consume(Consumers.NOTIFIER, True, scoped) + publishes("result.>")
                + emits("ingress") + kv_write(Buckets.IDEMPOTENCY.name, "notify"))
    edge = (publishes("event.>", "install.*.*") + emits("ingress", dead_letters=False)
            + queue_depth(Consumers.ORCHESTRATOR_EVENTS, scoped))
    return (
        Identity("ingress", "Slack edge (ROLE=edge): publishes inbound requests", edge),
        Identity("notifier", "ingress with ROLE=notifier: posts to Slack, reports results",
                 notifier),
        Identity("ingress-all", "ingress with ROLE=all (dev stack, chart without notifier)",
                 edge + notifier),
        Identity("orchestrator", "runs the workflow: consumes events, results, decisions", (
            consume(Consumers.ORCHESTRATOR_EVENTS, True, scoped)
            + consume(Consumers.ORCHESTRATOR_RESULTS, True, scoped)
            + consume(Consumers.ORCHESTRATOR_DECISIONS, True, scoped)
            + publishes("work.>", "approval.request.*") + emits("orchestrator")
            + kv_write(Buckets.RUNS.name) + kv_read(Buckets.RUNS.name)
            + kv_write(Buckets.THREADS.name))),
        Identity("tools", "runs tool calls and approved writes", (
            consume(Consumers.TOOLS, True, scoped) + publishes("result.>") + emits("tools")
            + kv_write(Buckets.IDEMPOTENCY.name, "write", "quota")
            + kv_write(Buckets.TOOL_RESULTS.name)
            + object_store(ObjectStores.OUTPUTS.name))),
        Identity("router", "runs model calls within budgets", (
            consume(Consumers.ROUTER, True, scoped) + publishes("result.>") + emits("router")
            + kv_write(Buckets.IDEMPOTENCY.name, "model", "budget")
            + kv_read(Buckets.WORKSPACES.name))),
        # Also per workspace (the operator's audit-<team>, into the team's own database).
        Identity("audit", "the only reader of AUDIT",
                 consume(Consumers.AUDIT, True, scoped) + emits("audit", audit=False)),
        Identity("approval", "the only publisher of decisions", (
            consume(Consumers.APPROVAL_REQUESTS, teams=scoped)
            + publishes("approval.decision.*") + emits("approval")
            + kv_read(Buckets.WORKSPACES.name))),
        Identity("operator", "per-workspace consumers, the workspace directory, its lease", (
            operator_consumers(("EVENTS", "RESULTS", "APPROVALS", "WORK", "AUDIT"))
            + kv_write(Buckets.WORKSPACES.name) + kv_write(Buckets.LEASES.name, "operator"))),
        Identity("install-controller", "creates and deletes Workspaces on installs (opt-in)",
                 consume(Consumers.INSTALL_CONTROLLER) + emits("install-controller", audit=False)),
        Identity("provisioner", "creates and updates streams, buckets, object stores (a Job)",
                 provisioning()),
    )


IDENTITIES = identities()


def matches(pattern: str, subject: str) -> bool:
    """NATS wildcard semantics: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def may_publish(ident: Identity, subject: str) -> bool:
    return (any(matches(p, subject) for p in ident.publish)
            and not any(matches(p, subject) for p in ident.grants.deny_publish))


def may_subscribe(ident: Identity, subject: str) -> bool:
    """Exactly as the server decides a subscription: the subject (which may itself hold
    wildcards) must fall within one allowed pattern."""
    return any(matches(p, subject) and _narrower(subject, p) for p in ident.subscribe)


def _narrower(subject: str, pattern: str) -> bool:
    """A wildcard subscription is allowed only where the pattern covers all it names."""
    for mine, theirs in zip(subject.split("."), pattern.split("."), strict=False):
        if theirs == ">":
            return True
        if mine in ("*", ">") and theirs not in ("*", ">"):
            return False
    return True


def identity(name: str, teams: Iterable[str] = ()) -> Identity:
    for candidate in identities(teams):
        if candidate.name == name:
            return candidate
    raise KeyError(f"no NATS identity {name!r}; known: {', '.join(names())}")


def names() -> list[str]:
    return [i.name for i in IDENTITIES]
