"""Write-once sinks for real: a folder, and S3 Object Lock on a loopback S3 server (moto's
ThreadedMotoServer over real HTTP with boto3). A sink never overwrites, and the newest
batch is found by listing one shard."""

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from triage_audit.anchor import Head, build_batch
from triage_audit.external import latest_batch, newest
from triage_audit.keys import SigningKey, key_id_of
from triage_audit.sinks import (
    FileSink,
    NameTaken,
    S3Sink,
    Sink,
    batch_name,
    batch_number,
    parse_sinks,
)
from triage_contracts.errors import PermanentError, TemporaryError
from triage_contracts.testing.natsserver import free_port

NUMBERS = [1, 2, 9_999, 10_000, 10_001, 123_456]


def test_batch_names_sort_by_number() -> None:
    assert batch_name(10_001) == "batches/00000001/000000010001.json"
    assert [batch_number(batch_name(n)) for n in NUMBERS] == NUMBERS
    assert sorted(batch_name(n) for n in NUMBERS) == [batch_name(n) for n in NUMBERS]
    assert batch_number("batches/x/1.json") is None


def s3_sink(endpoint: str, bucket: str, query: str = "") -> Sink:
    [sink] = parse_sinks(f"s3://{bucket}/audit/prod?endpoint_url={endpoint}"
                         f"&region=us-east-1{query}")
    return sink


@pytest.fixture(params=["file", "s3"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Sink:
    if request.param == "file":
        [file_sink] = parse_sinks(f"file://{tmp_path}/anchors")
        return file_sink
    endpoint, bucket = request.getfixturevalue("s3_bucket")
    return s3_sink(endpoint, bucket)


def test_a_name_is_written_once_and_never_replaced(sink: Sink) -> None:
    sink.put(batch_name(1), b'{"first": true}')
    with pytest.raises(NameTaken):
        sink.put(batch_name(1), b'{"second": true}')
    assert sink.get(batch_name(1)) == b'{"first": true}'


def test_the_newest_batch_is_listed_first_across_shards(sink: Sink) -> None:
    for number in NUMBERS:
        sink.put(batch_name(number), str(number).encode())
    assert list(sink.names_newest_first()) == [batch_name(n) for n in reversed(NUMBERS)]


def test_a_file_is_read_only_and_no_partial_file_is_left(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    sink.put(batch_name(7), b"data")
    path = tmp_path / batch_name(7)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert list(FileSink(tmp_path / "empty").names_newest_first()) == []


def test_s3_objects_are_locked_until_the_retention_date(s3_bucket: tuple[str, str]) -> None:
    endpoint, bucket = s3_bucket
    sink = s3_sink(endpoint, bucket, "&retain_days=30")
    sink.put(batch_name(1), b"anchored")
    raw = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    key = f"audit/prod/{batch_name(1)}"
    head = raw.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert abs(until - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    version = head["VersionId"]
    for bypass in (False, True):  # COMPLIANCE: not even a governance bypass deletes it
        with pytest.raises(ClientError) as refused:
            raw.delete_object(Bucket=bucket, Key=key, VersionId=version,
                              BypassGovernanceRetention=bypass)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert sink.get(batch_name(1)) == b"anchored"


def test_s3_governance_mode(s3_bucket: tuple[str, str]) -> None:
    endpoint, bucket = s3_bucket
    sink = s3_sink(endpoint, bucket, "&lock_mode=governance&retain_days=1")
    sink.put(batch_name(1), b"x")
    raw = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    head = raw.head_object(Bucket=bucket, Key=f"audit/prod/{batch_name(1)}")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(ClientError):
        raw.delete_object(Bucket=bucket, Key=f"audit/prod/{batch_name(1)}",
                          VersionId=head["VersionId"])


def test_an_unreachable_sink_is_a_temporary_error(tmp_path: Path) -> None:
    down = S3Sink("audit-anchors", "p", f"http://127.0.0.1:{free_port()}", "us-east-1")
    with pytest.raises(TemporaryError, match="anchor sink s3://audit-anchors/p/"):
        down.put(batch_name(1), b"x")
    with pytest.raises(TemporaryError):
        list(down.names_newest_first())
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(TemporaryError):
        FileSink(blocked).put(batch_name(1), b"x")


@pytest.mark.parametrize("url", ["ftp://x/y", "s3://", "s3://b/p?lock_mode=NONE",
                                 "s3://b/p?retain_days=-3"])
def test_bad_sink_urls_are_refused(url: str) -> None:
    with pytest.raises(PermanentError):
        parse_sinks(url)


def test_sink_urls(tmp_path: Path) -> None:
    file_sink, s3 = parse_sinks(f"file://{tmp_path}, s3://b/a/b/?endpoint_url=http://h:1")
    assert isinstance(file_sink, FileSink) and file_sink.root == tmp_path
    assert isinstance(s3, S3Sink) and (s3.bucket, s3.prefix) == ("b", "a/b/")
    assert s3.lock_mode == "COMPLIANCE" and s3.retain == timedelta(days=365)
    assert parse_sinks("  ") == []


def key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(key_id_of(private.public_key()), private, "test")


def test_the_newest_valid_batch_and_the_invalid_ones_above_it(sink: Sink) -> None:
    signer, stranger = key(), key()
    now = datetime.now(UTC)
    one = build_batch(None, [Head("T1", 3, "a" * 64)], signer, now, 1)
    sink.put(batch_name(1), one.document())
    # Someone with write access to the sink but not the key adds a newer batch.
    sink.put(batch_name(2), build_batch(None, [Head("T1", 1, "b" * 64)], stranger, now,
                                        2).document())
    sink.put(batch_name(3), b"garbage")
    public: dict[str, Any] = {signer.key_id: signer.public}
    found = latest_batch(sink, public)
    assert found.manifest is not None and found.manifest.batch == 1 and found.highest == 3
    assert len(found.problems) == 2 and "not among the trusted" in found.problems[1]
    assert newest([found]) == found.manifest
    # A valid batch stored under another number (a replayed old batch) is not accepted.
    sink.put(batch_name(4), one.document())
    assert "stored as batch 4" in latest_batch(sink, public).problems[0]
