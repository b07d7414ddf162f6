"""Verifying a JWT someone else signed (the authenticating proxy's): pure, given the
signer's keys and the clock.

Accepted only when every check passes: an asymmetric algorithm from the allowed list
(never `none`, never HMAC), a signature by one of the keys, the expected issuer and
audience, and an unexpired `exp` (with `nbf`/`iat` honoured), within a small leeway for
clock skew. A token naming a key id the set does not hold raises `UnknownKey`, so the
caller can refresh the keys once (rotation) before refusing.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from .rules import NotAuthenticated


@dataclass(frozen=True)
class Expected:
    issuer: str
    audience: str
    algorithms: Collection[str]
    leeway: int = 30


class UnknownKey(NotAuthenticated):
    """The token names a key the current key set does not hold (maybe rotated in)."""

    def __init__(self) -> None:
        super().__init__("the token is signed with an unknown key")


def verify(token: str, keys: KeySet, expected: Expected, now: int) -> dict[str, Any]:
    """The token's claims once verified; NotAuthenticated (or UnknownKey) otherwise."""
    try:
        decoded = jwt.decode(token, keys, algorithms=list(expected.algorithms))
        registry = jwt.JWTClaimsRegistry(
            now=now, leeway=expected.leeway,
            iss={"essential": True, "value": expected.issuer},
            aud={"essential": True, "value": expected.audience},
            exp={"essential": True},
        )
        registry.validate(decoded.claims)
    except InvalidKeyIdError as exc:
        raise UnknownKey() from exc
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        # Malformed input surfaces as ValueError/TypeError/KeyError from the decoder.
        raise NotAuthenticated(f"invalid token ({_why(exc)})") from exc
    return dict(decoded.claims)


def _why(exc: Exception) -> str:
    return exc.error if isinstance(exc, JoseError) else "malformed"
