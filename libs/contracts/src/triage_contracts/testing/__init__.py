"""Test and dev helpers that ship with the contracts: a real nats-server on a free port
(`natsserver`), a fresh PostgreSQL schema per test (`postgres`).

Used by every service's tests and by the dev stack, so it lives beside the contracts
(it imports no service)."""

from pydantic import SecretStr

# NATS credentials a production settings object needs to validate in a unit test (a real
# deployment gets its identity's password from the chart's Secret).
PRODUCTION_NATS = {"nats_user": "tester", "nats_password": SecretStr("test-only-nats-password")}
PRODUCTION_NATS_ENV = {"NATS_USER": "tester", "NATS_PASSWORD": "test-only-nats-password"}
