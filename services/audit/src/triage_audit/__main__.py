"""Entry point: no arguments serves the service; `verify`, `export` and `keygen` are
auditor and operator commands."""

import sys

from .cli import parser, run_command
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    settings = Settings()
    if args.command is not None:
        return run_command(args, settings)
    # Imported here: the CLI commands need neither FastAPI nor faststream (seconds saved
    # on every `verify` run from cron or CI).
    from triage_contracts.runtime import run_service

    from .app import build_app

    run_service("audit", settings, build_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
