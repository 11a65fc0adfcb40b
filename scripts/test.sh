#!/usr/bin/env bash
# Set up, then run the linter, the type checker and the whole test suite (PostgreSQL
# tests start a throwaway server from the machine's PostgreSQL binaries; see
# .ci/postgres.sh). Arguments go to pytest: `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ruff check .
mypy
python -m pytest "$@"
