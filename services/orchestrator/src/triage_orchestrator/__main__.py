"""`triage-orchestrator` / `python -m triage_orchestrator`: serve until SIGTERM."""

from triage_contracts.logs import configure_logging
from triage_contracts.runtime import serve

from .app import build_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging("orchestrator", settings.log_level, settings.log_json)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
