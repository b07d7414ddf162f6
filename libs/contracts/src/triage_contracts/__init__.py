"""Shared contracts of the triage agent: the only code every service imports.

Message models, subject names, stream/consumer definitions, error kinds, settings base,
audit and telemetry helpers. This package imports no service.
"""

CONTRACTS_VERSION = "1"
