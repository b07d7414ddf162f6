"""The GitHub Apps a stand-in knows and the installation tokens it minted (`apps.py` serves
them)."""

import time
from dataclasses import dataclass, field

from ..world.model import Person


@dataclass(frozen=True)
class App:
    app_id: int
    slug: str
    public_key_pem: str
    installations: frozenset[int]
    token_ttl_s: float = 3600.0  # GitHub's installation tokens live one hour
    rate_limit: int = 15_000  # an installation's hourly quota (Enterprise Cloud's)

    @property
    def bot(self) -> Person:
        return Person(f"{self.slug}[bot]", self.slug, 40_000 + self.app_id)


@dataclass
class Minted:
    app: App
    installation: int
    expires: float


@dataclass
class Apps:
    registered: dict[int, App] = field(default_factory=dict)
    tokens: dict[str, Minted] = field(default_factory=dict)

    def holder(self, token: str) -> Minted | None:
        """The installation a live token was minted for (None: not an App's, or expired)."""
        minted = self.tokens.get(token)
        return minted if minted is not None and minted.expires > time.time() else None

    def is_app_token(self, token: str) -> bool:
        return token in self.tokens


def quota_key(minted: Minted) -> str:
    return f"installation {minted.installation}"
