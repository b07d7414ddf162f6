"""Tampering with the stored chain (raw SQL, as someone with database access would) is
detected at the exact seq, by the library, and by the CLI run as a real subprocess."""

import hashlib
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from triage_audit.chain import GENESIS, link_hash
from triage_audit.models import AuditRow
from triage_audit.queries import row_fields
from triage_audit.store import AuditStore
from triage_audit.verify import verify_all, verify_team
from triage_contracts.messages import AuditEvent

Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]
Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def chain(store: AuditStore, event_factory: Factory) -> AuditStore:
    for i in range(1, 6):
        store.append(event_factory(team="T1", action=f"a{i}", run=f"r{i % 2}", cost_usd=0.5))
    for i in range(1, 3):
        store.append(event_factory(team="T2", action=f"b{i}"))
    return store


TAMPERING = {
    "changed detail": (
        ["UPDATE audit_events SET detail = '{\"n\": \"forged\"}' "
         "WHERE team_id = 'T1' AND seq = 3"], 3, "hash_mismatch"),
    "changed cost": (
        ["UPDATE audit_events SET cost_usd = 0 WHERE team_id = 'T1' AND seq = 2"],
        2, "hash_mismatch"),
    "deleted row": (["DELETE FROM audit_events WHERE team_id = 'T1' AND seq = 3"], 3, "gap"),
    "reordered rows": ([
        "UPDATE audit_events SET seq = -1 WHERE team_id = 'T1' AND seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE team_id = 'T1' AND seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE team_id = 'T1' AND seq = -1",
    ], 2, "broken_link"),
    "truncated tail": (["DELETE FROM audit_events WHERE team_id = 'T1' AND seq = 5"],
                       5, "head_mismatch"),
    "deleted head": (["DELETE FROM audit_heads WHERE team_id = 'T1'"], 1, "head_mismatch"),
}


def test_an_intact_chain_verifies_and_the_cli_exits_0(
    chain: AuditStore, database_url: str, cli: Cli
) -> None:
    reports = verify_all(chain.engine)
    assert [(r.team_id, r.ok, r.count) for r in reports] == [("T1", True, 5), ("T2", True, 2)]
    proc = cli("verify", "--database-url", database_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "T1: 5 events" in proc.stdout and "T2: 2 events" in proc.stdout
    assert proc.stdout.count("intact") == 2
    only_t2 = cli("verify", "--team", "T2", "--database-url", database_url)
    assert only_t2.returncode == 0 and "T1" not in only_t2.stdout and "T2: 2" in only_t2.stdout


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_reported_at_the_exact_seq(
    chain: AuditStore, sql: Sql, database_url: str, cli: Cli, case: str
) -> None:
    statements, bad_seq, reason = TAMPERING[case]
    for statement in statements:
        sql(statement)

    report = verify_team(chain.engine, "T1")
    assert not report.ok and report.first_error is not None
    assert (report.first_error.seq, report.first_error.reason) == (bad_seq, reason)
    assert verify_team(chain.engine, "T2").ok  # the other team's chain is independent

    proc = cli("verify", "--database-url", database_url)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "T1: " in proc.stdout and f"BROKEN at seq {bad_seq} ({reason})" in proc.stdout
    assert "T2: 2 events" in proc.stdout and "intact" in proc.stdout


def test_a_forger_who_rehashes_a_row_breaks_the_next_link(chain: AuditStore, sql: Sql) -> None:
    """Recomputing the changed row's own hash (the rules are public) still leaves its
    successor pointing at the old hash: the break shows at the next seq."""
    with Session(chain.engine) as session, session.begin():
        row = session.scalars(select(AuditRow).where(AuditRow.team_id == "T1",
                                                     AuditRow.seq == 2)).one()
        row.action = "forged"
        row.hash = link_hash(row.prev_hash, row_fields(row))
    error = verify_team(chain.engine, "T1").first_error
    assert error is not None and (error.seq, error.reason) == (3, "broken_link")


def test_export_carries_what_an_auditor_needs_to_recompute_the_chain(
    chain: AuditStore, database_url: str, cli: Cli
) -> None:
    proc = cli("export", "--team", "T1", "--format", "jsonl", "--database-url", database_url)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5]
    prev = GENESIS
    for event in lines:  # the documented rule, re-implemented with the standard library
        fields = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event["prev_hash"] == prev
        assert hashlib.sha256((prev + canonical).encode()).hexdigest() == event["hash"]
        prev = event["hash"]

    one_run = cli("export", "--team", "T1", "--run", "r0", "--database-url", database_url)
    assert [json.loads(x)["seq"] for x in one_run.stdout.splitlines()] == [2, 4]


def test_cli_reports_an_unknown_team_and_an_unreachable_database(
    chain: AuditStore, database_url: str, cli: Cli
) -> None:
    unknown = cli("verify", "--team", "NOPE", "--database-url", database_url)
    assert unknown.returncode == 1 and "no audit chain found for team NOPE" in unknown.stdout
    down = cli("verify", "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert down.returncode == 2 and "error:" in down.stderr
    from_env = cli("verify", env={"DATABASE_URL": database_url})
    assert from_env.returncode == 0 and "T1: 5 events" in from_env.stdout
