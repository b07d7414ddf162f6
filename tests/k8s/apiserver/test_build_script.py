"""scripts/apiserver-build's contract with .ci/run and the tier, without building: --check
answers from the cache alone, a present cache makes a build a no-op, and .ci/run starts the
build in the background before the suite (stopping it by process group)."""

import os
import subprocess
from pathlib import Path

from apiserverkit import BUILD_SCRIPT, REPO, pinned_version


def run_script(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TRIAGE_CACHE": str(cache), "TRIAGE_DEBIAN_MIRROR": "http://127.0.0.1:9"}
    return subprocess.run([str(BUILD_SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def fake_build(cache: Path) -> Path:
    bin_dir = cache / "apiserver" / pinned_version() / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("apiextensions-apiserver", "etcd"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def test_check_says_not_built_without_touching_the_network(tmp_path):
    result = run_script(tmp_path, "--check")
    assert result.returncode == 1 and "not built" in result.stdout
    assert not (tmp_path / "apiserver").exists()  # nothing written, nothing downloaded


def test_a_present_cache_makes_the_build_a_no_op(tmp_path):
    fake_build(tmp_path)
    assert run_script(tmp_path, "--check").returncode == 0
    result = run_script(tmp_path)  # the mirror is unreachable: a real build would fail
    assert result.returncode == 0 and "already built" in result.stdout
    assert sorted(p.name for p in (tmp_path / "apiserver").iterdir()) == [pinned_version()]


def test_ci_starts_the_build_before_the_suite_and_stops_it_by_group():
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    code = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    check = code.index("if ! scripts/apiserver-build --check; then")
    start = next(i for i, line in enumerate(code) if "setsid scripts/apiserver-build" in line)
    assert check < start < code.index("scripts/test -q")
    assert code[start].startswith("nice ") and code[start].endswith("&")
    assert any(line.startswith("trap ") and '"-$build_pid"' in line for line in code)
