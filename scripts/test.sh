#!/usr/bin/env bash
# Set up .venv if needed, then lint and run the test suite.
# Extra arguments go to pytest (e.g. --runslow, -k backprop).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
