"""Write-once stores outside the database for anchor batches (the I/O of anchoring).

A sink never overwrites: `put` creates a name exclusively and raises NameTaken when it
exists, which is also how two audit replicas agree on who wrote batch n (the loser retries
on the next tick). Two kinds, configured by AUDIT_ANCHOR_SINKS:

- `file:///path`: one file per batch, created exclusively (link(2) of a complete temporary
  file), made read-only (0444) before it appears. Protects against the database's users,
  not against root on the same host: point it at storage the database cannot reach.
- `s3://bucket/prefix?endpoint_url=&region=&lock_mode=COMPLIANCE&retain_days=365`: S3 or
  any S3-compatible store with Object Lock; PUT with `If-None-Match: *` and a retention
  date, so no one (COMPLIANCE) or only a bypass-privileged principal (GOVERNANCE) can
  delete or replace a batch before then. Credentials come from the standard AWS variables.

Batches are named `batches/<n // 10000>/<n>.json` (zero-padded), so the newest is found by
listing one shard, not every batch ever written.
"""

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError

SHARD = 10_000
_NAME = re.compile(r"^batches/(\d{8})/(\d{12})\.json$")
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


class NameTaken(PermanentError):
    """Another writer created this name first (a sink never overwrites)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.CONFLICT)


def batch_name(number: int) -> str:
    return f"batches/{number // SHARD:08d}/{number:012d}.json"


def batch_number(name: str) -> int | None:
    match = _NAME.match(name)
    return int(match.group(2)) if match else None


class Sink(Protocol):
    url: str  # shown to operators: no credentials in it

    def put(self, name: str, data: bytes) -> None: ...
    def get(self, name: str) -> bytes: ...
    def names_newest_first(self) -> Iterator[str]: ...


class FileSink:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"file://{root}"

    def put(self, name: str, data: bytes) -> None:
        path = self.root / name
        temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o444)
            os.link(temporary, path)  # atomic, and refuses an existing name
            _fsync_folder(path.parent)
        except FileExistsError as exc:
            raise NameTaken(f"{self.url}/{name} exists") from exc
        except OSError as exc:
            raise TemporaryError(f"anchor sink {self.url}: {exc.strerror}") from exc
        finally:
            with suppress(OSError):  # already linked (or never made): nothing to clean
                temporary.unlink(missing_ok=True)

    def get(self, name: str) -> bytes:
        try:
            return (self.root / name).read_bytes()
        except OSError as exc:
            raise TemporaryError(f"anchor sink {self.url}: {exc.strerror}") from exc

    def names_newest_first(self) -> Iterator[str]:
        base = self.root / "batches"
        shards = sorted((p.name for p in _listdir(base) if re.fullmatch(r"\d{8}", p.name)),
                        reverse=True)
        for shard in shards:
            names = (f"batches/{shard}/{p.name}" for p in _listdir(base / shard))
            yield from sorted((n for n in names if batch_number(n) is not None), reverse=True)


def _listdir(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise TemporaryError(f"anchor sink {folder}: {exc.strerror}") from exc


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Sink:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, lock_mode: str = "COMPLIANCE",
                 retain_days: int = 365) -> None:
        if lock_mode not in LOCK_MODES:
            raise PermanentError(f"lock_mode must be one of {LOCK_MODES}", ErrorCode.BAD_REQUEST)
        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.lock_mode, self.retain = lock_mode, timedelta(days=retain_days)
        self.url = f"s3://{bucket}/{self.prefix}" + (f" at {endpoint_url}" if endpoint_url else "")
        # Imported here: file sinks and a verify without S3 need no AWS SDK (seconds saved).
        import boto3
        from botocore.config import Config

        # SDK retries off: the checkpointer's next tick is the retry (STYLE 7).
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15,
                        s3={"addressing_style": "path"} if endpoint_url else None)
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config)

    def put(self, name: str, data: bytes) -> None:
        with self._errors(name):
            self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + name, Body=data, IfNoneMatch="*",
                ContentType="application/json", ObjectLockMode=self.lock_mode,
                ObjectLockRetainUntilDate=datetime.now(UTC) + self.retain)

    def get(self, name: str) -> bytes:
        with self._errors(name):
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"]
            return body.read()  # type: ignore[no-any-return]

    def names_newest_first(self) -> Iterator[str]:
        shards = sorted(self._list(self.prefix + "batches/", "CommonPrefixes", "Prefix"),
                        reverse=True)
        for shard in shards:
            keys = self._list(shard, "Contents", "Key")
            names = (key.removeprefix(self.prefix) for key in keys)
            yield from sorted((n for n in names if batch_number(n) is not None), reverse=True)

    def _list(self, prefix: str, field: str, item: str) -> list[str]:
        found: list[str] = []
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/")
            for page in pages:
                found += [entry[item] for entry in page.get(field, [])]
        return found

    def _errors(self, name: str) -> AbstractContextManager[None]:
        return _s3_errors(self.url, name)


@contextmanager
def _s3_errors(url: str, name: str) -> Iterator[None]:
    """The SDK's errors as ours: an existing name is NameTaken, anything else may pass."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "unknown"))
        if code in ("PreconditionFailed", "ConditionalRequestConflict"):
            raise NameTaken(f"{url}{name} exists") from exc
        raise TemporaryError(f"anchor sink {url}: {code} on {name}") from exc
    except BotoCoreError as exc:
        raise TemporaryError(f"anchor sink {url}: {type(exc).__name__}") from exc


def parse_sinks(spec: str) -> list[Sink]:
    """Sinks from AUDIT_ANCHOR_SINKS: URLs separated by commas or spaces."""
    return [parse_sink(url) for url in re.split(r"[\s,]+", spec.strip()) if url]


def parse_sink(url: str) -> Sink:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileSink(Path(parts.netloc + parts.path))
    if parts.scheme == "s3" and parts.netloc:
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        days = query.get("retain_days", "365")
        if not days.isdigit() or int(days) < 1:
            raise PermanentError("retain_days must be a whole number of days",
                                 ErrorCode.BAD_REQUEST)
        return S3Sink(parts.netloc, parts.path, query.get("endpoint_url"), query.get("region"),
                      query.get("lock_mode", "COMPLIANCE").upper(), int(days))
    raise PermanentError(f"unsupported anchor sink {parts.scheme}://… (use file:// or s3://)",
                         ErrorCode.BAD_REQUEST)
