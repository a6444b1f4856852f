#!/usr/bin/env bash
# Runs every benchmark of a built tree and prints one JSON line per figure
# on stdout (the benchmarks' own lines, each tagged with "run" and the
# machine's load); what they say for people goes to stderr.
#   scripts/bench.sh [BUILD_DIR]     default build/
#   QMS_BENCH_RUNS=N                 runs of the timing benches (default 3):
#                                    bench_store, bench_controller, bench_kiosk,
#                                    bench_display, bench_printer
# bench_eta is deterministic (the same figures on any machine): run once.
# Figures are only comparable with the floor measured in the same run (see
# docs/performance.md); on a shared machine look at "load1" first.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${QMS_BENCH_RUNS:-3}
bin="$build/bin"
for b in bench_store bench_controller bench_eta bench_kiosk bench_display bench_printer; do
  if [ ! -x "$bin/$b" ]; then
    echo "bench.sh: $bin/$b is missing: build first (cmake --build $build)" >&2
    exit 1
  fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/qms-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# tag each JSON line: {"run":K,"load1":L,"nproc":P, ...the bench's fields}
tag() { # run
  local run=$1 load
  load=$(cut -d' ' -f1 /proc/loadavg)
  while IFS= read -r line; do
    case "$line" in
      "{"*) printf '{"run":%s,"load1":%s,"nproc":%s,%s\n' "$run" "$load" "$(nproc)" "${line#\{}" ;;
      *) printf '%s\n' "$line" >&2 ;;
    esac
  done
}

status=0
for run in $(seq 1 "$runs"); do
  # the store's floor is the disk of --dir: the build folder's, as documented
  "$bin/bench_store" --dir "$work" 2>&2 | tag "$run" || status=1
  "$bin/bench_controller" --dir "$work" 2>&2 | tag "$run" || status=1
  "$bin/bench_kiosk" 2>&2 | tag "$run" || status=1
  SDL_VIDEODRIVER=offscreen SDL_AUDIODRIVER=dummy "$bin/bench_display" 2>&2 | tag "$run" ||
    status=1
  "$bin/bench_printer" 2>&2 | tag "$run" || status=1
done
"$bin/bench_eta" 2>&2 | tag 1 || status=1
exit $status
