#!/usr/bin/env bash
# Set up, then the main job on the bundled example data: check and compile the example
# spec, run it as of the sample data's last day, and list the CTAs it opened.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ASOF=2026-11-20
STORE=build/demo/csdsl.db
mkdir -p build/demo
rm -f "$STORE" "$STORE-wal" "$STORE-shm"

echo "== csdsl check examples/spec"
csdsl check examples/spec
echo "== csdsl compile examples/spec -o build/demo/spec.json"
csdsl compile examples/spec -o build/demo/spec.json
echo "== csdsl run build/demo/spec.json --data examples/data --as-of $ASOF"
csdsl run build/demo/spec.json --data examples/data --as-of "$ASOF" --store "sqlite:///$STORE"
echo "== csdsl ctas (first 25 lines; all of them: csdsl ctas --store sqlite:///$STORE)"
csdsl ctas --store "sqlite:///$STORE" | head -n 25
echo "== csdsl plans"
csdsl plans --store "sqlite:///$STORE" | head -n 10
