"""Entry point: `triage-router` / `python -m triage_router`."""

from triage_contracts.runtime import run_service

from .app import build_app
from .settings import Settings


def main() -> None:
    run_service("router", Settings(), build_app)


if __name__ == "__main__":
    main()
