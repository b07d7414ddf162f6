"""Verifying the whole log: every team's chain (verify.py) plus the state of each sink.

A sink's newest batch is what the chain is held against; the sink itself fails the check
when it cannot be read, holds a newer object that does not verify, or holds no batch at
all while the database has signed checkpoints (or an anchor is required, as in production).
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import temporary_on_outage
from .external import LatestBatch, latest_batch
from .models import AuditCheckpoint
from .sinks import Sink
from .verify import Bind, Trust, VerifyReport, has_checkpoints, verify_all


@dataclass
class AnchorStatus:
    sink: str
    ok: bool
    batch: int | None = None
    created_at: str | None = None
    teams: int = 0
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LogReport:
    teams: list[VerifyReport] = field(default_factory=list)
    anchors: list[AnchorStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.teams) and all(a.ok for a in self.anchors)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "teams": [t.as_dict() for t in self.teams],
                "anchors": [a.as_dict() for a in self.anchors]}


def read_trust(sinks: list[Sink], public_keys: dict[str, Ed25519PublicKey]) -> Trust:
    """Public keys and the newest batch of every sink, read once for one verification."""
    return Trust(public_keys, [latest_batch(sink, public_keys) for sink in sinks])


def verify_log(bind: Bind, trust: Trust, team_id: str | None = None,
               require_anchor: bool = False) -> LogReport:
    stored = _stored_checkpoints(bind)
    statuses = [anchor_status(item, stored, require_anchor) for item in trust.external]
    if not statuses and require_anchor:
        statuses = [AnchorStatus("AUDIT_ANCHOR_SINKS", ok=False,
                                 problem="no anchor sink configured (an anchor is required)")]
    return LogReport(verify_all(bind, team_id, trust), statuses)


def anchor_status(latest: LatestBatch, stored_checkpoints: int,
                  require_anchor: bool) -> AnchorStatus:
    """Whether one sink's newest batch can be relied on (pure)."""
    status = AnchorStatus(latest.sink, ok=True)
    if latest.manifest is not None:
        status.batch, status.created_at = latest.manifest.batch, latest.manifest.created_at
        status.teams = len(latest.manifest.entries)
    if latest.unreachable:
        status.problem = f"unreachable: {latest.unreachable}"
    elif latest.problems:
        status.problem = "invalid batch: " + "; ".join(latest.problems)
    elif latest.manifest is None and stored_checkpoints:
        status.problem = (f"no anchor batch, but the database holds {stored_checkpoints} "
                          "signed checkpoints (sink emptied or misconfigured)")
    elif latest.manifest is None and require_anchor:
        status.problem = "no anchor batch (an anchor is required)"
    status.ok = status.problem is None
    return status


def _stored_checkpoints(bind: Bind) -> int:
    with temporary_on_outage("counting checkpoints"), Session(bind) as session:
        if not has_checkpoints(session):
            return 0
        return int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)
