#!/usr/bin/env bash
# The demo (at this stage): build, then replay a sample day through the real
# engine and store and print the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${QMS_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
out=${QMS_DEMO_OUT:-demo-out}
mkdir -p "$out"
rm -f "$out/sim.db" "$out/sim.db-wal" "$out/sim.db-shm"
build/bin/qms-sim --services examples/services.csv --counters examples/counters.csv \
  --trace examples/day-500.csv --db "$out/sim.db" --out "$out/tickets.csv"
echo "tickets written to $out/tickets.csv"
