"""Stream, consumer, key-value and object store definitions, provisioned idempotently.

`provision(js, replicas)` creates what is missing and updates only what drifted (equal
configs are never written again: an update of a replicated stream is a cluster-wide
operation), so the definitions here are the single source of truth. Only the
`provisioner` NATS identity may run it (the chart's hook Job, `python -m
triage_contracts.provision`, the test and dev servers at start); services create only
their own durable consumers (docs/security-nats.md).
"""

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from . import subjects as s

DAY = 24 * 3600.0
# Slack retries after about 1 and 5 minutes: the duplicate window must outlast the last one.
EVENT_DUPLICATE_WINDOW = 15 * 60.0
# Re-published commands after an orchestrator crash are deduplicated within this window.
COMMAND_DUPLICATE_WINDOW = 15 * 60.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: list[str]
    retention: api.RetentionPolicy = api.RetentionPolicy.LIMITS
    max_age: float = 7 * DAY
    duplicate_window: float = 2 * 60.0
    description: str = ""

    def config(self, replicas: int = 1) -> api.StreamConfig:
        return api.StreamConfig(
            name=self.name,
            subjects=self.subjects,
            retention=self.retention,
            max_age=self.max_age,
            duplicate_window=self.duplicate_window,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            description=self.description,
        )


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        "EVENTS", [f"{s.PREFIX}.event.>"], duplicate_window=EVENT_DUPLICATE_WINDOW,
        description="Inbound Slack requests; Nats-Msg-Id is the Slack event id",
    ),
    StreamSpec(
        "WORK", [f"{s.PREFIX}.work.>"], retention=api.RetentionPolicy.WORK_QUEUE,
        duplicate_window=COMMAND_DUPLICATE_WINDOW,
        description="Tool, model and notify commands; one consumer per work kind",
    ),
    StreamSpec(
        "RESULTS", [f"{s.PREFIX}.result.>"], duplicate_window=COMMAND_DUPLICATE_WINDOW,
        description="Results flowing back into a run",
    ),
    StreamSpec(
        "APPROVALS", [f"{s.PREFIX}.approval.>"], max_age=30 * DAY,
        duplicate_window=COMMAND_DUPLICATE_WINDOW,
        description="Approval requests and decisions",
    ),
    StreamSpec(
        "AUDIT", [f"{s.PREFIX}.audit.>"], max_age=365 * DAY,
        duplicate_window=COMMAND_DUPLICATE_WINDOW,
        description="Audit events; the audit service consumes them durably",
    ),
    StreamSpec(
        "INSTALLS", [f"{s.PREFIX}.install.>"], max_age=90 * DAY,
        duplicate_window=EVENT_DUPLICATE_WINDOW,
        description="Workspace installs and removals; the install controller consumes them",
    ),
    StreamSpec(
        "DLQ", [f"{s.PREFIX}.dlq.>"], max_age=30 * DAY,
        description="Dead letters with the reason they could not be processed",
    ),
)


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    stream: str
    filter_subject: str
    ack_wait: float = 30.0
    max_deliver: int = 5
    # Redelivery delays after a nak without delay or an ack timeout (JetStream BackOff).
    backoff: list[float] = field(default_factory=lambda: [1.0, 5.0, 15.0, 60.0])
    max_ack_pending: int = 256
    # Messages fetched per pull (handed to the worker pool in stream order).
    fetch_batch: int = 10
    # Most messages handled at once whatever CONSUMER_CONCURRENCY says (None: no cap); 1
    # where stream order is the contract (consume.subscribe).
    max_concurrency: int | None = None
    # With unlimited deliveries (max_deliver=-1): a failing message stored longer ago than
    # this is dead-lettered instead of retried again (None: retried as long as it fails).
    give_up_s: float | None = None

    def config(self) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=self.durable,
            filter_subject=self.filter_subject,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            # JetStream wants fewer backoff steps than deliveries; -1 means unlimited.
            backoff=(self.backoff if self.max_deliver < 0
                     else self.backoff[: self.max_deliver - 1]) or None,
            max_ack_pending=self.max_ack_pending,
        )

    def for_team(self, team: str) -> "ConsumerSpec":
        """The same consumer scoped to one workspace (used by per-workspace workers)."""
        base = self.filter_subject.removesuffix(">")
        # Approval subjects end with the team; every other family has more tokens after it.
        tail = s.token(team) if base.startswith(f"{s.PREFIX}.approval.") else f"{team}.>"
        return replace(self, durable=f"{self.durable}-{team}", filter_subject=base + tail)


class Consumers:
    """Durable consumers, one per (service, input). Filters must not overlap on WORK."""

    # Unlimited deliveries: a team over its fair share puts its new requests back (a nak with
    # a delay, orchestrator fair_share.py) as often as it takes, and every nak is a delivery.
    # A request that keeps failing is dead-lettered by age instead of by count. No BackOff:
    # with one, the server takes its steps (up to 60 s) over the nak's own short delay.
    ORCHESTRATOR_EVENTS = ConsumerSpec("orchestrator-events", "EVENTS", f"{s.PREFIX}.event.>",
                                       max_deliver=-1, backoff=[], give_up_s=30 * 60.0)
    ORCHESTRATOR_RESULTS = ConsumerSpec(
        "orchestrator-results", "RESULTS", f"{s.PREFIX}.result.>")
    ORCHESTRATOR_DECISIONS = ConsumerSpec(
        "orchestrator-decisions", "APPROVALS", f"{s.PREFIX}.approval.decision.>")
    TOOLS = ConsumerSpec("tools", "WORK", f"{s.PREFIX}.work.tool.>", ack_wait=60.0)
    # Model calls can take minutes: handlers also send in-progress acks while waiting. No
    # BackOff: JetStream replaces AckWait with BackOff[0] when one is set (1 s here), and a
    # second replica would then call (and pay) the model again while the first still waits.
    # Failed calls are nak'ed with their own delay by the error middleware anyway.
    ROUTER = ConsumerSpec("router", "WORK", f"{s.PREFIX}.work.model.>", ack_wait=120.0,
                          backoff=[])
    NOTIFIER = ConsumerSpec("notifier", "WORK", f"{s.PREFIX}.work.notify.>")
    APPROVAL_REQUESTS = ConsumerSpec(
        "approval-requests", "APPROVALS", f"{s.PREFIX}.approval.request.>")
    # Unlimited deliveries: a long database outage must delay audit events, never drop them.
    # Handled concurrently: the handlers queue their events for one writer, which appends
    # each group in one transaction in the order they were fetched (triage_audit.groups).
    # One message per fetch still: the pool fetches on while handlers wait for a commit,
    # and nats-py's multi-message fetch can end in a bare asyncio.TimeoutError that
    # faststream does not expect (its pull task crashes and is restarted, logging a
    # traceback).
    AUDIT = ConsumerSpec(
        "audit", "AUDIT", f"{s.PREFIX}.audit.>", max_deliver=-1, max_ack_pending=1024,
        fetch_batch=1)

    # Unlimited deliveries: a Kubernetes API outage delays a workspace, never loses it. One
    # message per fetch: an install and the removal right after it apply in stream order.
    INSTALL_CONTROLLER = ConsumerSpec(
        "install-controller", "INSTALLS", f"{s.PREFIX}.install.>", max_deliver=-1,
        fetch_batch=1, max_concurrency=1)

    @classmethod
    def all(cls) -> list[ConsumerSpec]:
        return [v for v in vars(cls).values() if isinstance(v, ConsumerSpec)]


@dataclass(frozen=True)
class BucketSpec:
    name: str
    history: int = 1
    ttl: float | None = None
    description: str = ""


class Buckets:
    # Finished runs expire; a run lives at most run_timeout (30 min) plus approval expiry.
    RUNS = BucketSpec("triage-runs", history=5, ttl=30 * DAY,
                      description="Run state (optimistic CAS)")
    # Records of outbound writes already performed, keyed by run and step.
    IDEMPOTENCY = BucketSpec("triage-idempotency", ttl=30 * DAY)
    # Tool calls already answered, by run and step: a redelivered call re-sends its result
    # instead of running again (a crash between publishing and acking).
    TOOL_RESULTS = BucketSpec("triage-tool-results", ttl=DAY,
                              description="Answered tool calls (result re-sent on redelivery)")
    # The context store: what the last run answered in each Slack thread (follow-ups).
    THREADS = BucketSpec("triage-threads", ttl=30 * DAY,
                         description="Per Slack thread: the last answer and its evidence")
    # The operator's per-team directory (`workspaces.WorkspaceDirectory`), one key per team;
    # entries live as long as their Workspace resource, so no TTL.
    WORKSPACES = BucketSpec("triage-workspaces", history=5,
                            description="Per Slack team: approvers from its Workspace resource")
    # Who leads among replicas of a singleton (`operator.<namespace>`), compare-and-set on
    # the revision like the team claims; a holder renews its entry, so no TTL.
    LEASES = BucketSpec("triage-leases", description="Leader of each singleton's replicas")

    @classmethod
    def all(cls) -> list[BucketSpec]:
        return [v for v in vars(cls).values() if isinstance(v, BucketSpec)]


@dataclass(frozen=True)
class ObjectStoreSpec:
    name: str
    ttl: float | None = None
    description: str = ""


class ObjectStores:
    # Whole tool outputs that were cut to fit a prompt; `output.page` reads them back.
    # They matter while a run can still page them: a run lasts minutes, a week is ample.
    OUTPUTS = ObjectStoreSpec("triage-outputs", ttl=7 * DAY,
                              description="Tool outputs cut to fit a prompt, kept whole")

    @classmethod
    def all(cls) -> list[ObjectStoreSpec]:
        return [v for v in vars(cls).values() if isinstance(v, ObjectStoreSpec)]


# JetStream's codes for a stream someone else created first, and for a replica the meta
# leader will not place on a peer it has not heard from yet.
STREAM_NAME_IN_USE = 10058
PEER_OFFLINE = 10005

# The stream fields `STREAMS` owns. Anything else (limits an operator set by hand, fields a
# newer server fills in) is left as the server has it, so provisioning never fights.
OWNED_FIELDS = ("subjects", "retention", "max_age", "duplicate_window", "storage",
                "description")


def stream_drift(current: api.StreamConfig, wanted: api.StreamConfig,
                 replicas: int | None) -> dict[str, Any]:
    """The fields to change (name -> wanted value); empty when the stream is as wanted.
    `replicas=None` keeps the count the stream has (a 3-node cluster's R3 is never
    lowered by a caller that did not ask for a count)."""
    changes: dict[str, Any] = {name: getattr(wanted, name) for name in OWNED_FIELDS
                                  if getattr(current, name) != getattr(wanted, name)}
    if replicas is not None and current.num_replicas != replicas:
        changes["num_replicas"] = replicas
    return changes


async def _converge(js: JetStreamContext, current: api.StreamConfig,
                    changes: dict[str, Any]) -> None:
    """One update with the drifted fields only, and none at all when nothing drifted."""
    if changes:
        await js.update_stream(replace(current, **changes))


async def provision_streams(js: JetStreamContext, replicas: int | None = None) -> None:
    for spec in STREAMS:
        config = spec.config(replicas or 1)
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError as exc:
                if exc.err_code != STREAM_NAME_IN_USE:
                    raise
                # another replica created it meanwhile
                info = await js.stream_info(spec.name)
        await _converge(js, info.config, stream_drift(info.config, config, replicas))


def _limits_drift(current: api.StreamConfig, ttl: float | None,
                  replicas: int | None) -> dict[str, Any]:
    """A bucket's or object store's own stream: only its age limit and replica count are
    ours to converge (the rest belongs to the KV/object store layout)."""
    changes: dict[str, Any] = {}
    if (current.max_age or 0.0) != (ttl or 0.0):
        changes["max_age"] = ttl or 0.0
    if replicas is not None and current.num_replicas != replicas:
        changes["num_replicas"] = replicas
    return changes


async def provision_buckets(js: JetStreamContext, replicas: int | None = None) -> None:
    for spec in Buckets.all():
        try:
            info = await js.stream_info(f"KV_{spec.name}")
        except NotFoundError:
            await js.create_key_value(
                api.KeyValueConfig(
                    bucket=spec.name, history=spec.history, ttl=spec.ttl,
                    description=spec.description, replicas=replicas or 1,
                    storage=api.StorageType.FILE,
                )
            )
            continue
        # An existing bucket keeps its data; only drifted limits are updated in place.
        await _converge(js, info.config, _limits_drift(info.config, spec.ttl, replicas))


async def provision_object_stores(js: JetStreamContext, replicas: int | None = None) -> None:
    for spec in ObjectStores.all():
        try:
            info = await js.stream_info(f"OBJ_{spec.name}")
        except NotFoundError:
            try:
                await js.create_object_store(spec.name, api.ObjectStoreConfig(
                    description=spec.description, ttl=spec.ttl, replicas=replicas or 1,
                    storage=api.StorageType.FILE))
                continue
            except BadRequestError as exc:
                if exc.err_code != STREAM_NAME_IN_USE:
                    raise
                # another replica created it meanwhile
                info = await js.stream_info(f"OBJ_{spec.name}")
        # An existing store keeps its objects; only drifted limits are updated.
        await _converge(js, info.config, _limits_drift(info.config, spec.ttl, replicas))


async def provision_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create or update one durable consumer (add_consumer is idempotent for equal configs
    and updates mutable fields otherwise)."""
    await js.add_consumer(spec.stream, spec.config())


async def provision(js: JetStreamContext, replicas: int | None = None) -> None:
    """Create what is missing, update only what drifted. `replicas`: the count every stream
    should have (NATS_REPLICAS); None keeps existing counts and creates new streams at 1."""
    await provision_streams(js, replicas)
    await provision_buckets(js, replicas)
    await provision_object_stores(js, replicas)


async def provision_patiently(js: JetStreamContext, replicas: int | None = None,
                              timeout: float = 60.0) -> None:
    """`provision`, waiting out a cluster that is still gathering its peers. Right after
    a (re)start every node can report healthy before the meta leader has had each peer's
    first report; until then it places nothing there ("peer offline"), or there is no meta
    leader yet (503). Provisioning is idempotent, so it is simply tried again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await provision(js, replicas)
            return
        except (BadRequestError, ServiceUnavailableError) as exc:
            if not _gathering(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.5)


def _gathering(exc: BadRequestError | ServiceUnavailableError) -> bool:
    # 10005 alone also means more replicas than servers, which waiting does not mend;
    # only a peer the leader knows but has not heard from yet is worth the wait.
    if isinstance(exc, ServiceUnavailableError):
        return True
    return exc.err_code == PEER_OFFLINE and "offline" in (exc.description or "")
