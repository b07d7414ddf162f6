"""What the sinks say: the newest validly signed batch in each sink.

Shared by the checkpointer (which builds the next batch on it, never on the database's
word) and by verify (which holds the chain against it). A newer object that does not verify
(bad signature, unknown key, a batch number that differs from its name) is not skipped
silently: it is returned as a problem, and verify reports it.
"""

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from triage_contracts.errors import TemporaryError

from .anchor import Manifest, parse_batch, read_manifest, signature_problem
from .sinks import Sink, batch_number

# How many newer invalid objects are read past before giving up on a sink.
LOOK_BACK = 20


@dataclass
class LatestBatch:
    sink: str
    manifest: Manifest | None = None  # the newest valid one
    highest: int = 0  # the highest batch number named in the sink (valid or not)
    problems: list[str] = field(default_factory=list)
    unreachable: str | None = None  # why the sink could not be read


def latest_batch(sink: Sink, public_keys: dict[str, Ed25519PublicKey]) -> LatestBatch:
    """The newest batch of `sink` that verifies, and the invalid ones found above it."""
    found = LatestBatch(sink.url)
    try:
        for looked, name in enumerate(sink.names_newest_first()):
            number = batch_number(name) or 0
            found.highest = max(found.highest, number)
            problem, manifest = _check(sink.get(name), number, public_keys)
            if manifest is not None:
                found.manifest = manifest
                return found
            found.problems.append(f"{sink.url} {name}: {problem}")
            if looked + 1 >= LOOK_BACK:
                break
    except TemporaryError as exc:
        found.unreachable = str(exc)
    return found


def _check(data: bytes, number: int,
           public_keys: dict[str, Ed25519PublicKey]) -> tuple[str, Manifest | None]:
    try:
        signed, _checkpoints = parse_batch(data)
        problem = signature_problem(signed, public_keys)
        if problem is not None:
            return problem, None
        manifest = read_manifest(signed)
    except ValueError as exc:
        return str(exc), None
    if manifest.batch != number:
        return f"signed as batch {manifest.batch}, stored as batch {number}", None
    return "", manifest


def newest(latest: list[LatestBatch]) -> Manifest | None:
    """The newest valid manifest across sinks (sinks may lag after a failed write)."""
    manifests = [item.manifest for item in latest if item.manifest is not None]
    return max(manifests, key=lambda m: m.batch, default=None)
