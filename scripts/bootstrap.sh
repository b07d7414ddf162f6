#!/usr/bin/env bash
# Shared set-up for scripts/dev and scripts/test: find Python 3.12, install uv if missing,
# install the workspace from the lock file. Sourced, not executed.
set -euo pipefail

find_python312() {
  if [ -n "${UV_PYTHON:-}" ] && "$UV_PYTHON" -c 'import sys; assert sys.version_info[:2] >= (3, 12)' 2>/dev/null; then
    echo "$UV_PYTHON"; return
  fi
  for candidate in python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] >= (3, 12)' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
  for v in "$root"/versions/3.1[2-9]*; do
    [ -x "$v/bin/python3" ] && { echo "$v/bin/python3"; return; }
  done
  echo "error: Python >= 3.12 not found (install python3.12 or set UV_PYTHON)" >&2
  return 1
}

UV_PYTHON="$(find_python312)" || exit 1
export UV_PYTHON
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v uv >/dev/null 2>&1; then
  # uv comes from PyPI into a private venv: works where pip --user is refused (PEP 668).
  if [ ! -x .tools/bin/uv ]; then
    echo "installing uv into .tools/ (from PyPI)" >&2
    "$UV_PYTHON" -m venv .tools >&2
    .tools/bin/python -m pip install --quiet --disable-pip-version-check uv >&2
  fi
  export PATH="$PWD/.tools/bin:$PATH"
fi
uv sync --frozen --quiet
