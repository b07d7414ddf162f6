"""Entry point: `triage-tools` (settings from the environment, then serve until stopped)."""

from triage_contracts.logs import configure_logging
from triage_contracts.runtime import serve

from .app import build_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging("tools", settings.log_level, settings.log_json)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
