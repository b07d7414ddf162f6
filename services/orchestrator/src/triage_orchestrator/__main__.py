"""`triage-orchestrator` / `python -m triage_orchestrator`: serve until SIGTERM."""

from triage_contracts.runtime import run_service

from .app import build_app
from .settings import Settings


def main() -> None:
    run_service("orchestrator", Settings(), build_app)


if __name__ == "__main__":
    main()
