"""`triage-ingress` / `python -m triage_ingress`: settings from the environment, then serve."""

from triage_contracts.logs import configure_logging
from triage_contracts.runtime import serve

from .app import build_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging("ingress", settings.log_level, settings.log_json)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
