"""Test and dev helpers that ship with the contracts: a real nats-server on a free port
(`natsserver`), a fresh PostgreSQL schema per test (`postgres`).

Used by every service's tests and by the dev stack, so it lives beside the contracts
(it imports no service)."""
