"""Signed statements as pure values: what is signed, which keys are trusted, how a batch
carries every team forward, and what a statement says about a chain."""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from triage_audit.anchor import (
    Head,
    Signed,
    build_batch,
    canonical,
    due,
    fallen_behind,
    parse_batch,
    read_manifest,
    sign,
    signature_problem,
    statement_problem,
)
from triage_audit.chain import GENESIS
from triage_audit.keys import SigningKey, key_id_of

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(key_id_of(private.public_key()), private, "test")


@pytest.fixture
def key() -> SigningKey:
    return new_key()


def trusted(*keys: SigningKey) -> dict[str, object]:
    return {k.key_id: k.public for k in keys}


def test_a_signature_covers_the_canonical_payload(key: SigningKey) -> None:
    signed = sign({"b": 1, "a": "é", "key_id": key.key_id}, key)
    assert canonical(signed.payload) == f'{{"a":"é","b":1,"key_id":"{key.key_id}"}}'.encode()
    assert signature_problem(signed, trusted(key)) is None  # type: ignore[arg-type]
    assert Signed.from_json(signed.to_json()) == signed
    changed = Signed({**signed.payload, "b": 2}, signed.digest, signed.signature)
    assert "does not match" in str(signature_problem(changed, trusted(key)))  # type: ignore[arg-type]
    wrong_digest = Signed(signed.payload, "0" * 64, signed.signature)
    assert "digest" in str(signature_problem(wrong_digest, trusted(key)))  # type: ignore[arg-type]
    garbage = Signed(signed.payload, signed.digest, "not base64!")
    assert signature_problem(garbage, trusted(key)) is not None  # type: ignore[arg-type]


def test_only_trusted_keys_are_accepted(key: SigningKey) -> None:
    other = new_key()
    signed = sign({"key_id": key.key_id, "n": 1}, key)
    problem = signature_problem(signed, trusted(other))  # type: ignore[arg-type]
    assert problem is not None and "not among the trusted public keys" in problem
    # A forger who claims a trusted key id but signs with their own key is refused too.
    forged = sign({"key_id": key.key_id, "n": 1}, other)
    assert "does not match" in str(signature_problem(forged, trusted(key)))  # type: ignore[arg-type]
    # Rotation: both keys trusted, both signatures verify.
    assert signature_problem(signed, trusted(key, other)) is None  # type: ignore[arg-type]


def test_the_key_id_is_a_short_hash_of_the_public_key(key: SigningKey) -> None:
    assert len(key.key_id) == 16 and int(key.key_id, 16) >= 0
    assert key.key_id == key_id_of(key.private.public_key()) != new_key().key_id
    assert "Ed25519PrivateKey" not in repr(key)  # the private key never shows in logs


def test_a_batch_checkpoints_advanced_teams_and_lists_every_team(key: SigningKey) -> None:
    first = build_batch(None, [Head("T1", 5, "a" * 64), Head("T2", 3, "b" * 64)], key, NOW, 1)
    checkpoint = first.checkpoints[0].payload
    assert checkpoint == {"type": "audit_checkpoint", "version": 1, "team_id": "T1", "seq": 5,
                          "head_hash": "a" * 64, "count": 5, "key_id": key.key_id,
                          "created_at": "2026-01-02T03:04:05.000000+00:00",
                          "prev_digest": GENESIS}
    manifest = read_manifest(first.manifest)
    assert manifest.batch == 1 and sorted(manifest.entries) == ["T1", "T2"]
    assert first.manifest.payload["prev_digest"] == GENESIS

    second = build_batch(manifest, [Head("T2", 9, "c" * 64)], key, NOW, 2)
    again = read_manifest(second.manifest)
    assert again.entries["T1"] == manifest.entries["T1"]  # carried forward, never dropped
    assert again.entries["T2"].seq == 9
    assert second.checkpoints[0].payload["prev_digest"] == first.checkpoints[1].digest
    assert second.manifest.payload["prev_digest"] == first.manifest.digest
    stored_manifest, stored_checkpoints = parse_batch(second.document())
    assert stored_manifest == second.manifest and stored_checkpoints == second.checkpoints


def test_malformed_documents_are_value_errors() -> None:
    for data in (b"not json", b"[]", b'{"manifest": {"payload": 1}}', b"\xff"):
        with pytest.raises(ValueError):
            parse_batch(data)
    with pytest.raises(ValueError):
        read_manifest(Signed({"type": "audit_checkpoint", "version": 1}, "", ""))
    with pytest.raises(ValueError):
        read_manifest(Signed({"type": "audit_manifest", "version": 1, "teams": [{}]}, "", ""))
    assert json.loads(canonical({"x": 1})) == {"x": 1}
    assert base64.b64decode(sign({"key_id": "k"}, new_key()).signature)


def test_due_teams_and_teams_that_fell_behind(key: SigningKey) -> None:
    manifest = read_manifest(build_batch(
        None, [Head("T1", 5, "a" * 64), Head("T2", 3, "b" * 64)], key, NOW, 1).manifest)
    assert due(manifest, {"T1": 5, "T2": 7, "T3": 1}) == {"T2": (3, "b" * 64),
                                                         "T3": (0, GENESIS)}
    assert due(None, {"T1": 2}) == {"T1": (0, GENESIS)}
    behind = fallen_behind(manifest, {"T1": 4})
    assert behind["T1"].reason == "truncated" and behind["T2"].reason == "team_deleted"
    assert fallen_behind(manifest, {"T1": 5, "T2": 3}) == {} == fallen_behind(None, {})


@pytest.mark.parametrize(("length", "at_seq", "reason", "seq"), [
    (0, None, "team_deleted", 5),
    (3, None, "truncated", 4),
    (9, "f" * 64, "anchor_mismatch", 5),
])
def test_what_a_statement_says_about_a_chain(length: int, at_seq: str | None, reason: str,
                                             seq: int) -> None:
    error = statement_problem("T1", 5, "a" * 64, length, at_seq, "batch 3")
    assert error is not None and (error.reason, error.seq) == (reason, seq)
    assert "batch 3" in error.message
    assert statement_problem("T1", 5, "a" * 64, 9, "a" * 64, "batch 3") is None
