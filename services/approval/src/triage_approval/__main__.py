"""`triage-approval` / `python -m triage_approval`: settings from the environment, then
serve; `keys generate` prints a new grant key pair (keys_cli.py) and needs no settings."""

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        from .keys_cli import run

        return run(args)
    # Imported here: the key command needs neither settings nor the web stack.
    from triage_contracts.runtime import run_service

    from .app import build_app
    from .settings import Settings

    run_service("approval", Settings(), build_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
