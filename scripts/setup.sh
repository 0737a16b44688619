#!/usr/bin/env bash
# Create .venv (Python 3.11, 3.12 or 3.13) with the exact pins of
# requirements.lock and byhand installed in editable mode. Re-running
# skips what is up to date. PYTHON=/path/to/python picks the interpreter.
#
# .venv is a link to a folder outside the project, in
# ${BYHAND_VENVS:-~/.cache/byhand/venvs}: Quarto 1.10 walks every folder of
# the project, hidden ones included, for each project it opens (twice a
# render), and a virtual environment's 50,000 files cost it 5 s each
# time; it does not follow links.
set -euo pipefail
cd "$(dirname "$0")/.."

supported() {
  "$1" -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13)' \
    2>/dev/null
}
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
else
  PY=
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null && supported "$candidate"; then
      PY=$candidate
      break
    fi
  done
fi
if [ -z "$PY" ] || ! supported "$PY"; then
  echo "error: byhand needs Python 3.11, 3.12 or 3.13" \
    "(found: ${PY:-none}${PY:+, $("$PY" -V 2>&1)})." >&2
  echo "Install one of them or set PYTHON=/path/to/python3.x." >&2
  exit 1
fi

# uv installs the lock several times faster than pip; it is used when on
# the PATH or installable with pip, with pip's wheel folder (uv does not
# read pip's configuration). BYHAND_PIP=1: pip only. --compile-bytecode
# (pip does it by default): with PYTHONDONTWRITEBYTECODE set, every
# process would otherwise compile torch and pandas again (3 s more each).
pip_setting() {
  local value=${!1:-}
  [ -n "$value" ] || value=$("$PY" -m pip config get "global.$2" \
    2>/dev/null || true)
  echo "$value"
}
# .venv is made without pip (ensurepip takes 5 s); pip is added only when
# it is needed: to install uv, or for BYHAND_PIP=1.
venv_pip() {
  .venv/bin/python -m pip --version >/dev/null 2>&1 \
    || .venv/bin/python -m ensurepip >/dev/null
  .venv/bin/python -m pip "$@"
}
install_with_uv() {
  [ "${BYHAND_PIP:-}" != 1 ] || return 1
  local uv
  uv=$(command -v uv || true)
  if [ -z "$uv" ]; then
    # The chosen Python's pip installs uv into .venv (pip 22.3+), else
    # .venv's own pip.
    "$PY" -m pip --python .venv/bin/python install -q uv >/dev/null 2>&1 \
      || venv_pip install -q uv >/dev/null 2>&1 || return 1
    uv=.venv/bin/uv
  fi
  local links
  links=$(pip_setting PIP_FIND_LINKS find-links)
  if ! UV_FIND_LINKS=${UV_FIND_LINKS:-$links} \
    UV_PYTHON_DOWNLOADS=never "$uv" pip install -q --compile-bytecode \
    --python .venv/bin/python -r requirements.lock -e .; then
    echo "uv could not install the lock; trying pip." >&2
    return 1
  fi
}
install_with_pip() {
  venv_pip install -q --upgrade pip
  venv_pip install -q -r requirements.lock
  venv_pip install -q --no-deps -e .
}

venvs=${BYHAND_VENVS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/byhand/venvs}
# One per checkout: its name is the project's path, hashed.
home="$venvs/$(basename "$PWD")-$(pwd -P | sha256sum | cut -c1-12)"
if [ -L .venv ] && [ "$(readlink .venv)" != "$home" ]; then
  rm .venv  # a link made for another place
elif [ -e .venv ] && [ ! -L .venv ]; then
  echo "Moving the virtual environment out of the project (rebuilt once)."
  rm -rf .venv
fi
if ! mkdir -p "$home" 2>/dev/null || [ ! -w "$home" ]; then
  echo "error: cannot create the virtual environment's folder $home;" \
    "set BYHAND_VENVS to a folder you can write." >&2
  exit 1
fi
[ -L .venv ] || ln -s "$home" .venv

# A venv made by another Python is rebuilt.
want_py=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -x .venv/bin/python ]; then
  have_py=$(.venv/bin/python -c \
    'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
  [ "$have_py" = "$want_py" ] || rm .venv/bin/python
fi
# --clear: whatever was in the folder goes.
[ -x .venv/bin/python ] || "$PY" -m venv --clear --without-pip "$home"
stamp=.venv/.byhand-lock
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing the pinned packages into .venv (Python $want_py;" \
    "a few minutes)..."
  install_with_uv || install_with_pip
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 \
    >/dev/null
  echo "$want" > "$stamp"
fi
