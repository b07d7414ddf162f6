"""`triage-ingress` / `python -m triage_ingress`: settings from the environment, then serve."""

from triage_contracts.runtime import run_service

from .app import build_app
from .settings import Settings


def main() -> None:
    run_service("ingress", Settings(), build_app)


if __name__ == "__main__":
    main()
