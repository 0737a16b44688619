#!/usr/bin/env bash
# Create .venv (Python 3.11) with the exact pins of requirements.lock and
# byhand installed in editable mode. Re-running skips what is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if ! "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null
then
  echo "error: byhand needs Python 3.11 ($PY is $("$PY" -V 2>&1))." >&2
  echo "Install Python 3.11 or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.byhand-lock
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing the pinned packages into .venv (a few minutes)..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 \
    >/dev/null
  echo "$want" > "$stamp"
fi
