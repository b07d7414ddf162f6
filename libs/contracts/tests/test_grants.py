"""Approval grants: Ed25519 over the claims, verified with public keys by key id.

Every refusal the verifiers rely on is here with its code: unknown key id, a team key used
for another team, a bad signature, an edited payload, an expired grant, another action;
plus rotation (two keys listed at once) and per-team keys."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from triage_contracts.approvals import action_digest
from triage_contracts.errors import ErrorCode
from triage_contracts.grants import (
    GrantClaims,
    GrantRefused,
    Keyring,
    PublicKeySpec,
    claims_of_decision,
    claims_of_grant,
    signed_bytes,
)
from triage_contracts.messages import ApprovalDecision, ApprovalGrant, Decision
from triage_contracts.settings import GrantVerifierSettings
from triage_contracts.testing import PRODUCTION_NATS
from triage_contracts.testing.grant_keys import GrantKeyPair, public_keys_env

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DIGEST = action_digest("github.comment_issue", {"issue_number": 42}, "run1", "T1")
OTHER = action_digest("github.comment_issue", {"issue_number": 43}, "run1", "T1")


def claims(pair: GrantKeyPair, **changes: object) -> GrantClaims:
    base = GrantClaims(kid=pair.kid, team_id="T1", approval_id="apr1", action_digest=DIGEST,
                       decision=Decision.APPROVE, approver_id="U1", decided_at=NOW,
                       expires_at=NOW + timedelta(hours=1))
    return base.model_copy(update=changes)


def ring(*pairs: GrantKeyPair) -> Keyring:
    return Keyring.from_specs({p.kid: PublicKeySpec(key=p.public_key, team=p.team)
                               for p in pairs})


def refusal(keyring: Keyring, grant: GrantClaims, signature: str, digest: str = DIGEST,
            now: datetime = NOW) -> ErrorCode:
    with pytest.raises(GrantRefused) as caught:
        keyring.verify(grant, signature, action_digest=digest, now=now)
    return caught.value.code


def test_a_signed_grant_verifies_for_its_action_until_it_expires() -> None:
    pair = GrantKeyPair.generate("k1")
    grant = claims(pair)
    signature = pair.sign(grant)
    assert len(signature) == 86  # 64 bytes, unpadded base64url
    assert ring(pair).verify(grant, signature, action_digest=DIGEST, now=NOW) == grant
    last = NOW + timedelta(minutes=59, seconds=59)
    assert ring(pair).verify(grant, signature, action_digest=DIGEST, now=last) == grant


def test_every_refusal_has_its_own_code() -> None:
    pair, stranger = GrantKeyPair.generate("k1"), GrantKeyPair.generate("k1")
    grant = claims(pair)
    signature = pair.sign(grant)
    keyring = ring(pair)
    unknown = claims(pair, kid="k-unknown")
    assert refusal(keyring, unknown, pair.sign(unknown)) is ErrorCode.GRANT_UNKNOWN_KEY
    # Same key id, another private key (a compromised pod making its own pair).
    assert refusal(keyring, grant, stranger.sign(grant)) is ErrorCode.GRANT_BAD_SIGNATURE
    assert refusal(keyring, grant, "not-base64!!") is ErrorCode.GRANT_BAD_SIGNATURE
    assert refusal(keyring, grant, "") is ErrorCode.GRANT_BAD_SIGNATURE
    for edit in ({"approver_id": "U2"}, {"expires_at": NOW + timedelta(days=30)},
                 {"action_digest": OTHER}, {"team_id": "T2"}, {"approval_id": "apr2"},
                 {"decided_at": NOW + timedelta(microseconds=1)}):
        edited = grant.model_copy(update=edit)
        assert refusal(keyring, edited, signature) is ErrorCode.GRANT_BAD_SIGNATURE, edit
    expiry = NOW + timedelta(hours=1)
    assert refusal(keyring, grant, signature, now=expiry) is ErrorCode.GRANT_EXPIRED
    assert refusal(keyring, grant, signature, digest=OTHER) is ErrorCode.GRANT_OTHER_ACTION
    reject = claims(pair, decision=Decision.REJECT)
    assert refusal(keyring, reject, pair.sign(reject)) is ErrorCode.GRANT_OTHER_ACTION
    assert refusal(keyring, None, signature) is ErrorCode.GRANT_UNKNOWN_KEY


def test_the_message_says_why_and_never_quotes_a_key() -> None:
    pair = GrantKeyPair.generate("k1")
    grant = claims(pair, kid="k9")
    with pytest.raises(GrantRefused) as caught:
        ring(pair).verify(grant, pair.sign(grant), action_digest=DIGEST, now=NOW)
    assert "'k9'" in str(caught.value) and "not among the trusted" in str(caught.value)
    assert pair.public_key not in str(caught.value)


def test_rotation_both_keys_verify_while_listed_then_the_old_one_is_refused() -> None:
    old, new = GrantKeyPair.generate("2026-10"), GrantKeyPair.generate("2026-11")
    before = claims(old)
    after = claims(new, approval_id="apr2")
    both = ring(old, new)
    assert both.verify(before, old.sign(before), action_digest=DIGEST, now=NOW)
    assert both.verify(after, new.sign(after), action_digest=DIGEST, now=NOW)
    retired = ring(new)
    assert refusal(retired, before, old.sign(before)) is ErrorCode.GRANT_UNKNOWN_KEY
    assert retired.verify(after, new.sign(after), action_digest=DIGEST, now=NOW)


def test_a_team_key_verifies_its_team_only_and_a_global_key_every_team() -> None:
    team_key, global_key = GrantKeyPair.generate("t1", team="T1"), GrantKeyPair.generate("g")
    keyring = ring(team_key, global_key)
    mine = claims(team_key)
    assert keyring.verify(mine, team_key.sign(mine), action_digest=DIGEST, now=NOW)
    theirs = claims(team_key, team_id="T2")
    assert refusal(keyring, theirs, team_key.sign(theirs)) is ErrorCode.GRANT_WRONG_TEAM
    other_team = claims(global_key, team_id="T2")
    assert keyring.verify(other_team, global_key.sign(other_team), action_digest=DIGEST,
                          now=NOW)


def test_the_signed_bytes_are_canonical_and_tagged() -> None:
    pair = GrantKeyPair.generate("k1")
    grant = claims(pair)
    body = json.loads(signed_bytes(grant))
    assert body["purpose"] == "triage.approval-grant.v1"
    assert body["decided_at"] == "2026-11-30T12:00:00.000000+00:00"
    # The same instant in another zone signs the same bytes.
    shifted = grant.model_copy(update={"decided_at": NOW.astimezone(
        timezone(timedelta(hours=5)))})
    assert signed_bytes(shifted) == signed_bytes(grant)
    naive = grant.model_copy(update={"decided_at": NOW.replace(tzinfo=None)})
    with pytest.raises(GrantRefused):
        signed_bytes(naive)


def test_messages_carry_the_claims_and_pre_upgrade_ones_are_refused() -> None:
    pair = GrantKeyPair.generate("k1")
    grant = claims(pair)
    decision = ApprovalDecision(team_id="T1", run_id="run1", approval_id="apr1",
                                decision=Decision.APPROVE, approver_id="U1",
                                action_digest=DIGEST, decided_at=NOW, kid="k1",
                                expires_at=grant.expires_at, signature=pair.sign(grant))
    # Through JSON, as on the bus: the datetimes come back equal, the signature holds.
    decision = ApprovalDecision.model_validate_json(decision.model_dump_json())
    assert claims_of_decision(decision) == grant
    message = ApprovalGrant(approval_id="apr1", action_digest=DIGEST, approver_id="U1",
                            decided_at=NOW, signature=decision.signature, kid="k1",
                            expires_at=grant.expires_at)
    assert claims_of_grant(message, "T1") == grant
    legacy = message.model_copy(update={"kid": "", "expires_at": None})
    assert claims_of_grant(legacy, "T1") is None
    assert refusal(ring(pair), claims_of_grant(legacy, "T1"), legacy.signature) is (
        ErrorCode.GRANT_UNKNOWN_KEY)


def test_verifier_settings_take_pem_or_base64_keys_by_id() -> None:
    pem_pair, raw_pair = GrantKeyPair.generate("pem"), GrantKeyPair.generate("raw", team="T1")
    pem = pem_pair.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = GrantVerifierSettings(grant_public_keys=json.loads(json.dumps(
        {"pem": pem, "raw": {"key": raw_pair.public_key, "team": "T1"}})))
    keyring = settings.grant_keyring()
    assert keyring.key_ids == ["pem", "raw"]
    for pair in (pem_pair, raw_pair):
        grant = claims(pair)
        assert keyring.verify(grant, pair.sign(grant), action_digest=DIGEST, now=NOW)


def test_verifier_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = GrantKeyPair.generate("env")
    for name, value in public_keys_env(pair).items():
        monkeypatch.setenv(name, value)
    assert GrantVerifierSettings().grant_keyring().key_ids == ["env"]


@pytest.mark.parametrize("bad", ["not a key", "QUJD", "-----BEGIN PUBLIC KEY-----\nxx\n"])
def test_an_unreadable_public_key_fails_at_start_naming_its_id(bad: str) -> None:
    with pytest.raises(ValidationError, match="grant public key 'k1'"):
        GrantVerifierSettings(grant_public_keys={"k1": bad})


def test_production_verifiers_refuse_to_start_without_public_keys() -> None:
    with pytest.raises(ValidationError, match="GRANT_PUBLIC_KEYS"):
        GrantVerifierSettings(environment="production")
    pair = GrantKeyPair.generate("k1")
    GrantVerifierSettings(environment="production",
                          grant_public_keys={"k1": pair.public_key}, **PRODUCTION_NATS)
