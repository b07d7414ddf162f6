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
  if command -v pyenv >/dev/null 2>&1; then
    for v in "$(pyenv root)"/versions/3.1[2-9]*; do
      [ -x "$v/bin/python3" ] && { echo "$v/bin/python3"; return; }
    done
  fi
  echo "error: Python >= 3.12 not found (install python3.12 or set UV_PYTHON)" >&2
  return 1
}

UV_PYTHON="$(find_python312)"
export UV_PYTHON
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (pip --user)" >&2
  "$UV_PYTHON" -m pip install --quiet --user uv >&2 || python3 -m pip install --quiet uv >&2
  export PATH="$HOME/.local/bin:$PATH"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
uv sync --frozen --quiet
