"""Entry point: `triage-tools` (settings from the environment, then serve until stopped)."""

from triage_contracts.runtime import run_service

from .app import build_app
from .settings import Settings


def main() -> None:
    run_service("tools", Settings(), build_app)


if __name__ == "__main__":
    main()
