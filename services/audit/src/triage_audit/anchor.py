"""Signed checkpoints and team manifests, as pure functions: what is signed, and what a
signed statement says about the chain.

A checkpoint states "team T's chain had `count` events and ended at `seq` with `head_hash`";
a manifest states "these are all the teams, each with its latest checkpoint", and every
checkpoint batch ends with one. Both are Ed25519-signed with a key the database never holds,
so whoever can write the database can neither forge one nor make the chain disagree with
one undetected. Each statement links to its predecessor by digest (`prev_digest`), and a
team once listed in a manifest stays listed: deleting a whole team cannot drop out of the
next manifest. No I/O here: keys arrive as objects, documents as bytes or dicts.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .chain import GENESIS, ChainError, iso
from .keys import SigningKey

CHECKPOINT, MANIFEST = "audit_checkpoint", "audit_manifest"
VERSION = 1


def canonical(payload: dict[str, Any]) -> bytes:
    """The signed bytes: sorted keys, no whitespace, UTF-8 (the chain's own JSON rules)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def digest_of(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


@dataclass(frozen=True)
class Signed:
    """A payload with its digest and its Ed25519 signature over the canonical bytes."""

    payload: dict[str, Any]
    digest: str
    signature: str  # base64

    def as_dict(self) -> dict[str, Any]:
        return {"payload": self.payload, "digest": self.digest, "signature": self.signature}

    @classmethod
    def from_dict(cls, data: Any) -> "Signed":
        """Raises ValueError for anything that is not a signed statement's shape."""
        if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
            raise ValueError("not a signed statement")
        digest, signature = data.get("digest"), data.get("signature")
        if not isinstance(digest, str) or not isinstance(signature, str):
            raise ValueError("a signed statement needs a digest and a signature")
        return cls(data["payload"], digest, signature)

    @classmethod
    def from_json(cls, text: str) -> "Signed":
        return cls.from_dict(json.loads(text))  # JSONDecodeError is a ValueError

    def to_json(self) -> str:
        return canonical(self.as_dict()).decode("utf-8")


def sign(payload: dict[str, Any], key: SigningKey) -> Signed:
    body = canonical(payload)
    signature = key.private.sign(body)
    return Signed(payload, hashlib.sha256(body).hexdigest(),
                  base64.b64encode(signature).decode("ascii"))


def signature_problem(signed: Signed, public_keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Why `signed` is not a valid statement of one of `public_keys` (None: it is)."""
    key_id = signed.payload.get("key_id")
    public = public_keys.get(key_id) if isinstance(key_id, str) else None
    if public is None:
        return f"signed with key {key_id!r}, which is not among the trusted public keys"
    try:
        body = canonical(signed.payload)
        public.verify(base64.b64decode(signed.signature, validate=True), body)
    except (InvalidSignature, ValueError):
        return f"the signature does not match its content (key {key_id})"
    if hashlib.sha256(body).hexdigest() != signed.digest:
        return "the digest does not match its content"
    return None


@dataclass(frozen=True)
class Entry:
    """One team in a manifest: its latest checkpoint."""

    team_id: str
    seq: int
    head_hash: str
    checkpoint_digest: str

    def as_dict(self) -> dict[str, Any]:
        return {"team_id": self.team_id, "seq": self.seq, "head_hash": self.head_hash,
                "checkpoint_digest": self.checkpoint_digest}


@dataclass(frozen=True)
class Manifest:
    """A verified manifest, read back: its batch number, time and team entries."""

    signed: Signed
    batch: int
    created_at: str
    entries: dict[str, Entry]


def read_manifest(signed: Signed) -> Manifest:
    """The manifest a signed payload holds; ValueError when the payload is not one."""
    p = signed.payload
    if p.get("type") != MANIFEST or p.get("version") != VERSION:
        raise ValueError("not an audit manifest of a known version")
    try:
        entries = {e["team_id"]: Entry(str(e["team_id"]), int(e["seq"]), str(e["head_hash"]),
                                       str(e["checkpoint_digest"])) for e in p["teams"]}
        return Manifest(signed, int(p["batch"]), str(p["created_at"]), entries)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed audit manifest: {exc}") from exc


@dataclass(frozen=True)
class Head:
    """A team's chain end as the checkpointer verified it: the last row's seq and hash."""

    team_id: str
    seq: int
    hash: str


@dataclass(frozen=True)
class Batch:
    checkpoints: list[Signed]
    manifest: Signed
    number: int

    def document(self) -> bytes:
        """What a sink stores: the manifest and the checkpoints it introduces."""
        return canonical({"manifest": self.manifest.as_dict(),
                          "checkpoints": [c.as_dict() for c in self.checkpoints]})


def checkpoint_payload(head: Head, prev_digest: str, key: SigningKey,
                       now: datetime) -> dict[str, Any]:
    return {"type": CHECKPOINT, "version": VERSION, "team_id": head.team_id, "seq": head.seq,
            "head_hash": head.hash, "count": head.seq, "created_at": iso(now),
            "key_id": key.key_id, "prev_digest": prev_digest}


def build_batch(previous: Manifest | None, advanced: list[Head], key: SigningKey,
                now: datetime, number: int) -> Batch:
    """Checkpoints for the teams that advanced, and a manifest of every team ever listed
    (teams not advanced keep their previous entry; none is ever dropped)."""
    entries = dict(previous.entries) if previous else {}
    checkpoints = []
    for head in advanced:
        before = entries.get(head.team_id)
        signed = sign(checkpoint_payload(
            head, before.checkpoint_digest if before else GENESIS, key, now), key)
        checkpoints.append(signed)
        entries[head.team_id] = Entry(head.team_id, head.seq, head.hash, signed.digest)
    manifest = sign({
        "type": MANIFEST, "version": VERSION, "batch": number, "created_at": iso(now),
        "key_id": key.key_id, "prev_digest": previous.signed.digest if previous else GENESIS,
        "teams": [entries[t].as_dict() for t in sorted(entries)],
    }, key)
    return Batch(checkpoints, manifest, number)


def parse_batch(data: bytes) -> tuple[Signed, list[Signed]]:
    """(manifest, checkpoints) of a sink document; ValueError when it is not one."""
    try:
        doc = json.loads(data)
        return (Signed.from_dict(doc["manifest"]),
                [Signed.from_dict(c) for c in doc.get("checkpoints", [])])
    except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an anchor batch document: {type(exc).__name__}") from exc


def statement_problem(team_id: str, seq: int, head_hash: str, length: int,
                      hash_at_seq: str | None, where: str) -> ChainError | None:
    """What a valid signed statement (team at `seq` with `head_hash`, made `where`) says
    about the chain as stored now: `length` rows verified, `hash_at_seq` the stored hash of
    row `seq` (None when the chain is shorter). None when they agree."""
    if length == 0 and seq > 0:
        return ChainError(seq, "team_deleted",
                          f"{where} lists team {team_id} at seq {seq}, but the database has "
                          "no chain for it (the team was deleted)")
    if length < seq:
        return ChainError(length + 1, "truncated",
                          f"the chain ends at seq {length}, but {where} has seq {seq} "
                          "(events were deleted from the end)")
    if hash_at_seq != head_hash:
        return ChainError(seq, "anchor_mismatch",
                          f"seq {seq} hashes to {str(hash_at_seq)[:12]}…, {where} signed "
                          f"{head_hash[:12]}… (the chain was rewritten and recomputed)")
    return None


def due(previous: Manifest | None, heads: dict[str, int]) -> dict[str, tuple[int, str]]:
    """Teams whose head moved past their last checkpoint, each with where the checkpointer
    must pick the chain up: (seq, hash) of that checkpoint, (0, GENESIS) for a new team."""
    entries = previous.entries if previous else {}
    out = {}
    for team, seq in heads.items():
        entry = entries.get(team)
        start = (entry.seq, entry.head_hash) if entry else (0, GENESIS)
        if seq > start[0]:
            out[team] = start
    return out


def fallen_behind(previous: Manifest | None, heads: dict[str, int]) -> dict[str, ChainError]:
    """Teams the last manifest lists that the database lost, or whose head went back."""
    if previous is None:
        return {}
    problems = {}
    for team, entry in previous.entries.items():
        problem = statement_problem(team, entry.seq, entry.head_hash, heads.get(team, 0),
                                    entry.head_hash, f"anchor batch {previous.batch}")
        if problem is not None:
            problems[team] = problem
    return problems
