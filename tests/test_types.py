"""Types are part of the test suite so that CI enforces them: mypy in strict mode (with the
pydantic plugin, configured in pyproject.toml) over the contracts, every service and the
sandbox. The contracts are what every process relies on; a service's public signatures are
what its tests and its neighbours call."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = [
    "libs/contracts/src/triage_contracts",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/src/triage_*")),
    "sandbox/src/triage_sandbox",
]


# mypy over the whole tree, uncached: minutes on a loaded 2-core machine, not the suite's
# default bound for one test.
@pytest.mark.timeout(900)
def test_mypy_strict_is_clean() -> None:
    exe = shutil.which("mypy", path=str(Path(sys.executable).parent))
    assert exe, "mypy is not installed in this environment"
    assert len(CHECKED) >= 9, CHECKED  # contracts, seven services, sandbox
    proc = subprocess.run([exe, "--no-incremental", *CHECKED], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
