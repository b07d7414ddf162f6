"""`triage-ingress` / `python -m triage_ingress`: settings from the environment, then serve;
`python -m triage_ingress vault ...` runs the connector vault's operator commands and
`python -m triage_ingress manifest ...` prints the Slack app manifest and
`python -m triage_ingress selftest ...` is what `helm test` runs (selftest.py)."""

import sys

from .cli import parser, run_vault
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["selftest"]:  # its own options; needs no service configuration
        from .selftest import main as selftest

        return selftest(argv[1:])
    args = parser().parse_args(argv)
    if args.command == "manifest":  # needs no configuration
        from .manifest import render

        sys.stdout.write(render(args.base_url, args.oauth, args.json, args.token_rotation,
                                args.socket_mode, args.public_channels))
        return 0
    if args.command == "vault" and args.action == "keygen":
        return run_vault(args, Settings.model_construct())  # needs no configuration
    settings = Settings()
    if args.command == "vault":
        return run_vault(args, settings)
    # Imported here: the vault commands need neither FastAPI nor faststream.
    from triage_contracts.runtime import run_service

    from .app import build_app

    run_service("ingress", settings, build_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
