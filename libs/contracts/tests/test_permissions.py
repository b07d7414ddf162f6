"""The permission matrix against a real nats-server running the rendered config: every
identity tries every sensitive subject of a catalogue built from the contracts (publish,
subscribe, JetStream API creates, deletes, purges, pulls, KV and object writes); each one
the matrix does not grant must be refused by the server, each one it grants must pass.
The figures (tried, refused) are printed and recorded in docs/security-nats.md."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from triage_contracts import subjects as s
from triage_contracts.natsauth import dev_password
from triage_contracts.natsconfig import markdown_table
from triage_contracts.permissions import (
    IDENTITIES,
    Identity,
    identities,
    identity,
    inbox_prefix,
    may_publish,
    may_subscribe,
)
from triage_contracts.streams import STREAMS, Buckets, Consumers, ObjectStores
from triage_contracts.testing.natsserver import NatsServer

TEAM = "T1"
SERVICES = ("ingress", "orchestrator", "tools", "router", "audit", "approval", "operator")
API = "$JS.API"


def _stream_names() -> list[str]:
    return ([spec.name for spec in STREAMS] + [f"KV_{b.name}" for b in Buckets.all()]
            + [f"OBJ_{o.name}" for o in ObjectStores.all()])


def publish_catalogue() -> list[str]:
    """Every subject a compromised pod could abuse, named from the contracts."""
    out = [s.event(TEAM, "mention"), s.work("tool", TEAM, "github_search"),
           s.work("model", TEAM, "default"), s.work("notify", TEAM, "reply"),
           s.work("notify", TEAM, "status"),
           s.result(TEAM, "run1"), s.approval_request(TEAM), s.approval_decision(TEAM)]
    out += [s.audit(TEAM, svc) for svc in SERVICES] + [s.dead_letter(TEAM, svc) for svc in SERVICES]
    for name in _stream_names():
        out += [f"{API}.STREAM.{verb}.{name}" for verb in
                ("CREATE", "UPDATE", "DELETE", "PURGE", "MSG.DELETE", "MSG.GET")]
        out += [f"{API}.CONSUMER.CREATE.{name}", f"{API}.DIRECT.GET.{name}"]
    for spec in [*Consumers.all(), *(c.for_team(TEAM) for c in Consumers.all())]:
        out += [f"{API}.CONSUMER.{verb}.{spec.stream}.{spec.durable}" for verb in
                ("CREATE", "DURABLE.CREATE", "DELETE", "INFO", "MSG.NEXT")]
        out.append(f"$JS.ACK.{spec.stream}.{spec.durable}.1.1.1.1.0")
    keys = ("write.x", "notify.x", "model.x", "budget.x", "run1", TEAM)
    out += [f"$KV.{b.name}.{key}" for b in Buckets.all() for key in keys]
    out += [f"$O.{o.name}.C.x" for o in ObjectStores.all()]
    return list(dict.fromkeys(out))


def subscribe_catalogue() -> list[str]:
    out = [">", "triage.>", "triage.event.>", "triage.work.>", "triage.result.>",
           "triage.approval.>", "triage.audit.>", "triage.dlq.>", "$KV.>", "$O.>", "$JS.>",
           "_INBOX.>", "_INBOX.*.>"]
    return out + [inbox_prefix(i.name) + ".>" for i in IDENTITIES]


@dataclass
class Tally:
    tried: int = 0
    refused: int = 0
    allowed_ok: int = 0
    wrong: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server() -> Iterator[NatsServer]:
    with NatsServer(test_admin=True) as running:
        yield running


async def connect(server: NatsServer, ident: Identity, errors: list[str]) -> Client:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())

    return await nats.connect(server.url, user=ident.name, password=dev_password(ident.name),
                              inbox_prefix=inbox_prefix(ident.name), error_cb=on_error,
                              allow_reconnect=False)


async def attempt(nc: Client, errors: list[str], subject: str, publish: bool) -> bool:
    """True when the server refused (a permissions violation naming the subject)."""
    before = len(errors)
    if publish:
        await nc.publish(subject, b"{}")
    else:
        sub = await nc.subscribe(subject)
    await _settle(nc, errors)
    # nats-py lower-cases the server's message, subject included.
    wanted = f'"{subject.lower()}"'
    refused = any("permissions violation" in e and wanted in e for e in errors[before:])
    if not publish:
        await sub.unsubscribe()
    return refused


async def _settle(nc: Client, errors: list[str]) -> None:
    """Errors can land after a flush's PONG: publish to a subject nobody may use and wait
    for its refusal, which the server sends after every earlier one."""
    marker = f"triage.sentinel.n{len(errors)}x{id(errors) % 997}"
    await nc.publish(marker, b"")
    await nc.flush(timeout=5)
    deadline = asyncio.get_running_loop().time() + 10
    while not any(f'"{marker}"' in e for e in errors):
        assert asyncio.get_running_loop().time() < deadline, "no refusal of the sentinel"
        await asyncio.sleep(0.001)


async def try_every_identity(server: NatsServer) -> Tally:
    result = Tally()
    for ident in IDENTITIES:
        errors: list[str] = []
        nc = await connect(server, ident, errors)
        try:
            await _try_all(nc, errors, ident, result)
        finally:
            await nc.close()
    print(f"\nNATS permissions: {result.tried} forbidden attempts, {result.refused} refused, "
          f"{result.allowed_ok} granted attempts passed, {len(IDENTITIES)} identities")
    return result


async def _try_all(nc: Client, errors: list[str], ident: Identity, result: Tally) -> None:
    cases = ([(subj, True, may_publish(ident, subj)) for subj in publish_catalogue()]
             + [(subj, False, may_subscribe(ident, subj)) for subj in subscribe_catalogue()])
    for subject, publish, granted in cases:
        refused = await attempt(nc, errors, subject, publish)
        verb = "publish" if publish else "subscribe"
        if granted:
            result.allowed_ok += not refused
            if refused:
                result.wrong.append(f"{ident.name} may {verb} {subject} but was refused")
            continue
        result.tried += 1
        result.refused += refused
        if not refused:
            result.wrong.append(f"{ident.name} must not {verb} {subject} but could")


async def test_every_forbidden_attempt_is_refused_and_every_grant_passes(
        server: NatsServer) -> None:
    tally = await try_every_identity(server)
    assert tally.wrong == []
    assert tally.tried > 500 and tally.refused == tally.tried


def test_the_rules_of_the_issue_hold_in_the_matrix() -> None:
    def who_publishes(subject: str) -> set[str]:
        return {i.name for i in IDENTITIES if may_publish(i, subject)}

    assert who_publishes(s.approval_decision(TEAM)) == {"approval"}
    assert who_publishes(s.event(TEAM, "mention")) == {"ingress", "ingress-all"}
    notify = Consumers.NOTIFIER
    assert who_publishes(f"{API}.CONSUMER.MSG.NEXT.WORK.{notify.durable}") == {
        "notifier", "ingress-all"}
    audit = Consumers.AUDIT
    assert who_publishes(f"{API}.CONSUMER.MSG.NEXT.AUDIT.{audit.durable}") == {"audit"}
    assert who_publishes(f"{API}.CONSUMER.CREATE.AUDIT") == set()
    for name in _stream_names():
        assert who_publishes(f"{API}.STREAM.CREATE.{name}") == {"provisioner"}
        assert who_publishes(f"{API}.STREAM.DELETE.{name}") == set()
    assert who_publishes(f"$KV.{Buckets.WORKSPACES.name}.{TEAM}") == {"operator"}
    assert may_publish(identity("approval"), f"{API}.STREAM.MSG.GET.KV_{Buckets.WORKSPACES.name}")
    assert who_publishes(f"$KV.{Buckets.IDEMPOTENCY.name}.write.x") == {"tools"}
    assert who_publishes(f"{API}.STREAM.PURGE.OBJ_{ObjectStores.OUTPUTS.name}") == {"tools"}
    # The edge's queued notice: statuses only, and only the request consumer's lag.
    edge = identity("ingress")
    assert may_publish(edge, s.work("notify", TEAM, "status"))
    assert not may_publish(edge, s.work("notify", TEAM, "reply"))
    events = Consumers.ORCHESTRATOR_EVENTS
    assert may_publish(edge, f"{API}.CONSUMER.INFO.EVENTS.{events.durable}")
    assert not may_publish(edge, f"{API}.CONSUMER.INFO.WORK.{Consumers.TOOLS.durable}")
    assert not may_publish(edge, f"{API}.CONSUMER.MSG.NEXT.EVENTS.{events.durable}")


def test_a_team_scoped_release_keeps_each_consumer_to_its_service() -> None:
    def who_pulls(durable: str) -> set[str]:
        return {i.name for i in identities(["T9"])
                if may_publish(i, f"{API}.CONSUMER.MSG.NEXT.WORK.{durable}")}

    assert who_pulls("notifier-T9") == {"notifier", "ingress-all"}
    assert who_pulls("router-T9") == {"router"}
    assert who_pulls("tools-T9") == {"tools"}
    # The operator's workers (tools, router, notifier) pull any workspace's consumer of
    # their own; one of another team the matrix was not rendered for is reachable by the
    # other per-workspace workers too: the documented limit (docs/security-nats.md, Limits).
    workers = {"tools", "router", "notifier", "ingress-all"}
    for durable in ("tools-T1", "router-T1", "notifier-T1"):
        assert who_pulls(durable) == workers
    # ... but never a shared consumer of another service, nor the edge or audit anything.
    assert who_pulls("tools") == {"tools"} and who_pulls("router") == {"router"}
    # The operator makes and removes per-workspace consumers, never a shared durable.
    operator = identity("operator")
    for verb in ("CREATE", "DELETE"):
        assert may_publish(operator, f"{API}.CONSUMER.{verb}.AUDIT.audit-T1")
        assert may_publish(operator, f"{API}.CONSUMER.{verb}.WORK.tools-T1")
        assert not may_publish(operator, f"{API}.CONSUMER.{verb}.AUDIT.audit")
        assert not may_publish(operator, f"{API}.CONSUMER.{verb}.WORK.tools")
    assert not may_publish(operator, f"{API}.CONSUMER.CREATE.AUDIT.audit.triage.audit.>")
    # A Workspace's own audit consumer (secretRefs.database) is the audit identity's only.
    for durable in ("audit", "audit-T9", "audit-T1"):
        assert {i.name for i in identities(["T9"])
                if may_publish(i, f"{API}.CONSUMER.MSG.NEXT.AUDIT.{durable}")} == {"audit"}


async def test_each_identity_does_its_own_jetstream_work(server: NatsServer) -> None:
    """A stored publish is acknowledged through the identity's own inbox."""
    own = {"ingress": s.event(TEAM, "mention"), "orchestrator": s.work("tool", TEAM, "x"),
           "tools": s.result(TEAM, "r1"), "router": s.result(TEAM, "r2"),
           "notifier": s.result(TEAM, "r3"), "approval": s.approval_decision(TEAM),
           "audit": s.dead_letter(TEAM, "audit")}
    for name, subject in own.items():
        errors: list[str] = []
        nc = await connect(server, identity(name), errors)
        try:
            ack = await nc.jetstream().publish(subject, b"{}")
            assert ack.seq > 0 and errors == []
        finally:
            await nc.close()


async def test_a_stranger_and_a_wrong_password_cannot_connect(server: NatsServer) -> None:
    for user, password in (("nobody", "x"), ("approval", "dev-only-nats-tools"), (None, None)):
        with pytest.raises(nats.errors.Error):
            await nats.connect(server.url, user=user, password=password,
                               allow_reconnect=False, max_reconnect_attempts=0)


def test_the_documented_matrix_is_the_code() -> None:
    """Regenerate with `python -m triage_contracts.natsconfig render --markdown`."""
    doc = Path(__file__).resolve().parents[3] / "docs" / "security-nats.md"
    assert markdown_table() in doc.read_text()
