"""How a process proves who it is to NATS: its identity's user and password, its own reply
inbox, and optional TLS, from the service's settings.

In development an unset `NATS_USER`/`NATS_PASSWORD` means the identity's name and its
`dev-only-nats-<identity>` password, which the test and dev servers accept (rendered by
`natsconfig.py`) and production refuses (`settings.nats_problems`).
"""

import ssl
from dataclasses import dataclass
from typing import Any

from faststream.nats import NatsUserPassword

from .permissions import inbox_prefix
from .settings import ServiceSettings

DEV_PASSWORD_PREFIX = "dev-only-nats-"


def dev_password(identity: str) -> str:
    """The development password of an identity (never accepted in production)."""
    return DEV_PASSWORD_PREFIX + identity


@dataclass(frozen=True)
class NatsAuth:
    identity: str
    user: str
    password: str
    tls: ssl.SSLContext | None = None

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect` (the user and password in a URL lose)."""
        options: dict[str, Any] = {"user": self.user, "password": self.password,
                                   "inbox_prefix": inbox_prefix(self.identity)}
        if self.tls is not None:
            options["tls"] = self.tls
        return options

    def broker_options(self) -> dict[str, Any]:
        """Keyword arguments for faststream's `NatsBroker`."""
        return {"security": NatsUserPassword(self.user, self.password, ssl_context=self.tls),
                "inbox_prefix": inbox_prefix(self.identity)}

    def __repr__(self) -> str:  # never the password
        return f"NatsAuth(identity={self.identity!r}, user={self.user!r}, tls={bool(self.tls)})"


def tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """A verifying client context when a CA or a client certificate is configured."""
    if not (settings.nats_tls_ca_file or settings.nats_tls_cert_file):
        return None
    cafile = str(settings.nats_tls_ca_file) if settings.nats_tls_ca_file else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if settings.nats_tls_cert_file and settings.nats_tls_key_file:
        context.load_cert_chain(settings.nats_tls_cert_file, settings.nats_tls_key_file)
    return context


def nats_auth(settings: ServiceSettings, identity: str | None = None) -> NatsAuth:
    name = identity or settings.nats_identity_name()
    if not name:
        raise ValueError(f"{type(settings).__name__} names no NATS identity")
    password = settings.nats_password.get_secret_value() if settings.nats_password else ""
    return NatsAuth(identity=name, user=settings.nats_user or name,
                    password=password or dev_password(name), tls=tls_context(settings))
