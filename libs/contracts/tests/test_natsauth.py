"""How a service authenticates to NATS: its identity and development password by default,
its configured user and password otherwise, refused in production without them; TLS with
a CA and a client certificate against a real nats-server that verifies both."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from triage_contracts.natsauth import dev_password, nats_auth
from triage_contracts.settings import ServiceSettings
from triage_contracts.testing.natsserver import custom_server, free_port


class Tools(ServiceSettings):
    nats_identity: ClassVar[str] = "tools"


def test_development_connects_as_the_identity_with_its_dev_password() -> None:
    auth = nats_auth(Tools(_env_file=None))  # type: ignore[call-arg]
    assert (auth.user, auth.password) == ("tools", dev_password("tools"))
    assert auth.connect_options()["inbox_prefix"] == "_INBOX.tools"
    assert "dev-only" not in repr(auth)


def test_configured_credentials_win_and_never_show() -> None:
    auth = nats_auth(Tools(_env_file=None, nats_user="triage-tools",  # type: ignore[call-arg]
                           nats_password=SecretStr("s3cret-value")))
    assert (auth.user, auth.password) == ("triage-tools", "s3cret-value")
    assert "s3cret" not in repr(auth) and auth.identity == "tools"


@pytest.mark.parametrize("values, problem", [
    ({}, "NATS_USER must be set"),
    ({"nats_user": "tools"}, "NATS_PASSWORD must be set"),
    ({"nats_user": "tools", "nats_password": SecretStr("dev-only-nats-tools")},
     "NATS_PASSWORD must be set"),
    ({"nats_user": "tools", "nats_password": SecretStr("x" * 24),
      "nats_tls_cert_file": "/c.pem"}, "NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together"),
])
def test_production_fails_closed_without_nats_credentials(values, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        Tools(_env_file=None, environment="production", **values)  # type: ignore[arg-type]


def test_production_starts_with_them() -> None:
    settings = Tools(_env_file=None, environment="production",  # type: ignore[call-arg]
                     nats_user="tools", nats_password=SecretStr("x" * 24))
    assert nats_auth(settings).password == "x" * 24


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
          issuer_key: ec.EllipticCurvePrivateKey, ca: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.subject if issuer else name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=1))
               .not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, Path, Path]]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate; the
    server requires and verifies the client's (mutual TLS)."""
    ca_key = _key()
    ca = _cert("triage test CA", ca_key, None, ca_key, ca=True)
    ca_file, _ = _write(tmp_path, "ca", ca, ca_key)
    server_key, client_key = _key(), _key()
    server_cert, server_key_file = _write(
        tmp_path, "server", _cert("nats", server_key, ca, ca_key), server_key)
    client_cert, client_key_file = _write(
        tmp_path, "client", _cert("tools", client_key, ca, ca_key), client_key)
    port = free_port()
    tls = (f'cert_file: "{server_cert}"\nkey_file: "{server_key_file}"\n'
           f'ca_file: "{ca_file}"\nverify: true')
    user = f'{{user: tools, password: "{dev_password("tools")}"}}'
    config = (f"listen: 127.0.0.1:{port}\ntls {{\n{tls}\n}}\n"
              f"authorization {{ users: [{user}] }}\n")
    with custom_server(config, tmp_path, port):
        yield port, ca_file, client_cert, client_key_file


async def test_mutual_tls_with_the_configured_ca_and_client_certificate(tls_server) -> None:
    port, ca_file, cert_file, key_file = tls_server
    url = f"tls://127.0.0.1:{port}"
    settings = Tools(_env_file=None, nats_tls_ca_file=ca_file,  # type: ignore[call-arg]
                     nats_tls_cert_file=cert_file, nats_tls_key_file=key_file)
    nc = await nats.connect(url, allow_reconnect=False, **nats_auth(settings).connect_options())
    assert nc.is_connected
    await nc.close()
    # Without the client certificate the server refuses the handshake.
    ca_only = Tools(_env_file=None, nats_tls_ca_file=ca_file)  # type: ignore[call-arg]
    with pytest.raises((ssl.SSLError, OSError, nats.errors.Error)):
        await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0,
                           **nats_auth(ca_only).connect_options())
