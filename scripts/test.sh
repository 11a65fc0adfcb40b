#!/usr/bin/env bash
# Set up, then run the linter and the whole test suite (PostgreSQL tests start a
# throwaway server from the machine's PostgreSQL binaries; see .ci/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ruff check .
python -m pytest "$@"
