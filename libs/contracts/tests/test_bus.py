"""The bus against a real nats-server: provisioning, dedupe, error mapping to acks."""

import asyncio

import pytest
from nats.js.errors import KeyNotFoundError, NotFoundError
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, kv_keys, publish, stream_for
from triage_contracts.consume import subscribe, watch_max_deliveries
from triage_contracts.errors import PermanentError, TemporaryError
from triage_contracts.messages import DeadLetter, ToolCall
from triage_contracts.streams import STREAMS, Buckets, ConsumerSpec, provision


async def started_broker(url: str, service: str = "test"):
    broker = build_broker(url, service)
    await broker.connect()
    await provision(jetstream(broker))
    return broker


def call(step: str = "s1") -> ToolCall:
    return ToolCall(team_id="T1", run_id="r1", step_id=step, tool="github.search", arguments={})


async def test_provision_is_idempotent(nats_url: str) -> None:
    broker = await started_broker(nats_url)
    await provision(jetstream(broker))  # a second replica starting
    names = {s.name for s in STREAMS}
    infos = await jetstream(broker).streams_info()
    assert names <= {i.config.name for i in infos}
    events = await jetstream(broker).stream_info("EVENTS")
    assert events.config.duplicate_window >= 600
    await broker.stop()


async def test_duplicate_msg_id_is_stored_once(nats_url: str) -> None:
    broker = await started_broker(nats_url)
    subject = subjects.work("tool", "T1", "github")
    assert await publish(broker, call(), subject, msg_id="evt-1") is True
    assert await publish(broker, call(), subject, msg_id="evt-1") is False
    info = await jetstream(broker).stream_info(stream_for(subject))
    assert info.state.messages == 1
    await broker.stop()


async def collect_dead_letters(broker, count: int, timeout: float = 10.0) -> list[DeadLetter]:
    js = jetstream(broker)
    sub = await js.pull_subscribe("triage.dlq.>", durable="dlq-reader", stream="DLQ")
    letters: list[DeadLetter] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(letters) < count and asyncio.get_running_loop().time() < deadline:
        try:
            for m in await sub.fetch(1, timeout=0.5):
                letters.append(DeadLetter.model_validate_json(m.data))
                await m.ack()
        except TimeoutError:
            pass
    return letters


@pytest.mark.parametrize("failure", ["permanent", "malformed", "temporary"])
async def test_failures_are_dead_lettered_with_reason(nats_url: str, failure: str) -> None:
    broker = build_broker(nats_url, "test")
    spec = ConsumerSpec("probe", "WORK", "triage.work.tool.>", max_deliver=2, backoff=[0.1])
    seen: list[str] = []

    @subscribe(broker, spec)
    async def handle(msg: ToolCall) -> None:
        seen.append(msg.step_id)
        if failure == "permanent":
            raise PermanentError("tool does not exist")
        raise TemporaryError("upstream down", delay=0.1)

    await broker.connect()
    await provision(jetstream(broker))
    await broker.start()
    subject = subjects.work("tool", "T1", "github")
    if failure == "malformed":
        await broker.publish({"team_id": "T1"}, subject, stream="WORK")
    else:
        await publish(broker, call(), subject)
    letters = await collect_dead_letters(broker, 1)
    await broker.stop()

    assert len(letters) == 1
    letter = letters[0]
    assert letter.original_subject == subject
    assert letter.service == "test"
    if failure == "permanent":
        assert letter.reason == "tool does not exist" and seen == ["s1"]
    elif failure == "malformed":
        assert "run_id" in letter.reason and seen == []
        assert '"team_id"' in letter.payload  # the payload is kept whole
    else:
        assert letter.error_code == "max_deliveries" and seen == ["s1", "s1"]


async def test_buckets_are_provisioned_once_and_limits_follow_the_spec(nats_url: str) -> None:
    from triage_contracts.streams import Buckets

    broker = await started_broker(nats_url)
    js = jetstream(broker)
    kv = await js.key_value(Buckets.RUNS.name)
    await kv.put("T1.r1", b"state")
    info = await js.stream_info(f"KV_{Buckets.RUNS.name}")
    info.config.max_age = 60.0  # an older deployment's limit
    info.config.duplicate_window = 30.0
    await js.update_stream(info.config)
    await provision(js)  # a newer replica starts: data kept, limit updated
    assert (await kv.get("T1.r1")).value == b"state"
    info = await js.stream_info(f"KV_{Buckets.RUNS.name}")
    assert info.config.max_age == Buckets.RUNS.ttl
    await broker.stop()


async def test_object_stores_are_provisioned_once_and_keep_their_objects(
    nats_url: str
) -> None:
    from triage_contracts.streams import ObjectStores

    broker = await started_broker(nats_url)
    js = jetstream(broker)
    store = await js.object_store(ObjectStores.OUTPUTS.name)
    await store.put("out-1", b"whole output")
    info = await js.stream_info(f"OBJ_{ObjectStores.OUTPUTS.name}")
    assert info.config.max_age == ObjectStores.OUTPUTS.ttl
    info.config.max_age = 3600.0  # an older deployment's limit
    await js.update_stream(info.config)
    await provision(js)  # a newer replica starts: objects kept, limit updated
    assert (await store.get("out-1")).data == b"whole output"
    info = await js.stream_info(f"OBJ_{ObjectStores.OUTPUTS.name}")
    assert info.config.max_age == ObjectStores.OUTPUTS.ttl
    await broker.stop()


async def test_trace_context_travels_in_headers_across_hops(nats_url: str) -> None:
    """W3C trace context: a message published while handling another carries the same
    trace id in its `traceparent` header."""
    from faststream.nats.annotations import NatsMessage
    from triage_contracts.messages import ToolResult, ToolStatus
    from triage_contracts.streams import Consumers

    broker = build_broker(nats_url, "test")
    incoming: list[str] = []

    @subscribe(broker, Consumers.TOOLS)
    async def handle(body: ToolCall, msg: NatsMessage) -> None:
        incoming.append(msg.headers["traceparent"])
        result = ToolResult(team_id=body.team_id, run_id=body.run_id, step_id=body.step_id,
                            tool=body.tool, status=ToolStatus.SUCCESS)
        await publish(broker, result, subjects.result(body.team_id, body.run_id))

    await broker.connect()
    await provision(jetstream(broker))
    await broker.start()
    await publish(broker, call(), subjects.work("tool", "T1", "github"))
    js = jetstream(broker)
    result_msg = None
    for _ in range(50):
        try:
            result_msg = await js.get_last_msg("RESULTS", subjects.result("T1", "r1"))
            break
        except NotFoundError:
            await asyncio.sleep(0.1)
    await broker.stop()
    assert result_msg is not None and result_msg.headers and incoming
    trace_id = incoming[0].split("-")[1]
    assert result_msg.headers["traceparent"].split("-")[1] == trace_id


async def test_router_consumer_keeps_its_ack_wait(nats_url: str) -> None:
    """A BackOff list makes JetStream use BackOff[0] as AckWait: a model call longer than
    that would be redelivered to another replica and paid twice."""
    from triage_contracts.streams import Consumers, provision_consumer

    broker = await started_broker(nats_url)
    js = jetstream(broker)
    for spec in (Consumers.ROUTER, Consumers.ROUTER.for_team("T1")):
        await provision_consumer(js, spec)
        info = await js.consumer_info(spec.stream, spec.durable)
        assert info.config.ack_wait == spec.ack_wait == 120.0
        await js.delete_consumer(spec.stream, spec.durable)  # WORK filters may not overlap
    await broker.stop()


async def test_a_message_never_acknowledged_is_dead_lettered_when_jetstream_gives_up(
    nats_url: str
) -> None:
    """A worker that hangs or crashes on a message never raises, so no handler dead-letters
    it: after MaxDeliver JetStream only stops delivering it. Its advisory must bring it to
    the DLQ, whole, not leave it lost."""
    spec = ConsumerSpec("crashy", "WORK", "triage.work.tool.>", max_deliver=2, backoff=[],
                        ack_wait=0.5)
    broker = build_broker(nats_url, "test")
    watch_max_deliveries(broker, spec)
    await broker.connect()
    js = jetstream(broker)
    await provision(js)
    await js.add_consumer(spec.stream, spec.config())
    await broker.start()
    subject = subjects.work("tool", "T1", "github")
    await publish(broker, call(), subject)

    crashing = await js.pull_subscribe_bind(spec.durable, spec.stream)
    for _ in range(spec.max_deliver):  # fetched, then the worker "dies" (never acks)
        [msg] = await crashing.fetch(1, timeout=5)
    # Restarted, it asks again: JetStream has nothing more for it and gives the message up.
    with pytest.raises(TimeoutError):
        await crashing.fetch(1, timeout=1.5)
    await crashing.unsubscribe()
    letters = await collect_dead_letters(broker, 1)
    await broker.stop()

    [letter] = letters
    assert (letter.original_subject, letter.error_code, letter.deliveries) == (
        subject, "max_deliveries", 2)
    assert "never acknowledged" in letter.reason
    assert ToolCall.model_validate_json(letter.payload).step_id == "s1"  # kept whole
    assert msg.metadata.num_delivered == 2


async def test_bytes_that_are_not_json_are_dead_lettered_at_once(nats_url: str) -> None:
    broker = build_broker(nats_url, "test")
    spec = ConsumerSpec("probe", "WORK", "triage.work.tool.>", max_deliver=5, backoff=[5.0])
    seen: list[str] = []

    @subscribe(broker, spec)
    async def handle(msg: ToolCall) -> None:
        seen.append(msg.step_id)

    await broker.connect()
    await provision(jetstream(broker))
    await broker.start()
    subject = subjects.work("tool", "T1", "github")
    await jetstream(broker).publish(subject, b"{not json", stream="WORK")
    await publish(broker, call("after"), subject)
    letters = await collect_dead_letters(broker, 1)
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.1)
    await broker.stop()
    [letter] = letters
    assert letter.payload == "{not json" and letter.deliveries == 1
    assert seen == ["after"]  # the next message was not held up


async def test_kv_keys_lists_every_key_a_moment_after_it_is_written(nats_url: str) -> None:
    """A key written just before the listing is always there (nats-py's `keys()` could
    answer "no keys" when its consumer info raced the first delivery); a deleted key keeps
    its marker and reads as deleted."""
    broker = await started_broker(nats_url)
    js = jetstream(broker)
    kv = await js.key_value(Buckets.WORKSPACES.name)
    for n in range(100):
        await kv.put(f"T{n:03d}", b"{}")
        listed = await kv_keys(js, Buckets.WORKSPACES.name)
        assert listed == [f"T{i:03d}" for i in range(n + 1)], n
    await kv.delete("T000")
    assert "T000" in await kv_keys(js, Buckets.WORKSPACES.name)
    with pytest.raises(KeyNotFoundError):  # KeyDeletedError is one
        await kv.get("T000")
    with pytest.raises(PermanentError, match="does not exist"):
        await kv_keys(js, "no-such-bucket")
    await broker.stop()


async def test_unlimited_deliveries_give_up_on_a_failing_message_by_its_age(
    nats_url: str
) -> None:
    """The orchestrator's request consumer naks as often as fair share needs: a request
    that keeps failing is dead-lettered once older than `give_up_s`, not after N tries."""
    broker = build_broker(nats_url, "test")
    spec = ConsumerSpec("aging", "WORK", "triage.work.tool.>", max_deliver=-1, backoff=[],
                        give_up_s=1.5)
    seen: list[float] = []

    @subscribe(broker, spec)
    async def handle(msg: ToolCall) -> None:
        seen.append(asyncio.get_running_loop().time())
        raise TemporaryError("upstream down", delay=0.2)

    await broker.connect()
    await provision(jetstream(broker))
    await broker.start()
    await publish(broker, call(), subjects.work("tool", "T1", "github"))
    letters = await collect_dead_letters(broker, 1, timeout=20.0)
    await broker.stop()

    [letter] = letters
    assert letter.error_code == "max_deliveries" and letter.reason == "upstream down"
    assert len(seen) >= 3 and seen[-1] - seen[0] >= 1.0  # retried until it was too old
