"""Entry point: `python -m triage_operator.install` (settings from the environment, then
serve until stopped)."""

from triage_contracts.runtime import run_service

from .app import build_app
from .settings import Settings


def main() -> None:
    run_service("install-controller", Settings(), build_app)


if __name__ == "__main__":
    main()
