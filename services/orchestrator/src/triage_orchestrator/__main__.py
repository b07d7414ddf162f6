"""`triage-orchestrator` / `python -m triage_orchestrator`: serve until SIGTERM.

`python -m triage_orchestrator skills` lists the skills this configuration would run (the
pinned ones when SKILLS is set) with their version and content hash, which is what a
workspace pins (`SKILLS=incident@<hash prefix>`, or the Workspace resource's `skills`).
"""

import sys

from triage_contracts.runtime import run_service

from .app import build_app
from .settings import Settings
from .skills import listing, load_skills
from .spec import ConfigError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    settings = Settings()
    if args[:1] == ["skills"]:
        try:
            print(listing(load_skills(settings.skills_dir, settings.skills)))
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args:
        print("usage: python -m triage_orchestrator [skills]", file=sys.stderr)
        return 2
    run_service("orchestrator", settings, build_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
