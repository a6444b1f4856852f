#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every test
# in a plain build (build/) and an ASan+UBSan build (build-asan/), then runs
# each fuzz target for a short while (clang + libFuzzer, build-fuzz/).
#   QMS_FUZZ_SECONDS=N   seconds per fuzz target (default 10; 0 skips fuzzing)
#   QMS_SKIP_SETUP=1     do not run scripts/setup.sh
#   QMS_JOBS=N           parallel build jobs (default: nproc)
#   QMS_ALLOW_SKIP=1     a skipped test does not fail the run
#   QMS_ASAN_CTEST_ARGS  extra ctest arguments for the ASan run (e.g. "-LE ocr-heavy")
#
# A test that skips (cmocka skip(): exit 77 through tests/support/run_cmocka.sh,
# ctest's SKIP_RETURN_CODE) fails the run when setup installed everything:
# a skip there means something the test needs is missing or broken. With
# QMS_SKIP_SETUP=1 (nobody installed anything) skips are only listed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${QMS_JOBS:-$(nproc)}
fuzz_s=${QMS_FUZZ_SECONDS:-10}

if [ "${QMS_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh
fi

status=0
run_suite() { # name dir ctest-args cmake-args...
  local name=$1 dir=$2 ctest_args=$3; shift 3
  echo "=== $name build ($dir)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== $name tests"
  local log="$dir/ctest-output.txt"
  # shellcheck disable=SC2086 # ctest_args is a list of words
  if ! (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600 $ctest_args) 2>&1 |
       tee "$log"; then
    status=1
  fi
  # ctest lists skipped tests as "N - name (Skipped)" under "did not run"
  local skipped
  skipped=$(grep -E '^[[:space:]]*[0-9]+ - .*\((Skipped|Not Run)\)' "$log" || true)
  if [ -n "$skipped" ]; then
    echo "=== $name: tests that did not run:"
    echo "$skipped"
    if [ "${QMS_SKIP_SETUP:-0}" != 1 ] && [ "${QMS_ALLOW_SKIP:-0}" != 1 ]; then
      echo "SKIPPED although scripts/setup.sh installed everything: counted as a failure"
      status=1
    fi
  fi
}

# The plain build is optimized (RelWithDebInfo), as installed programs are, so
# the optimizer's warnings (-Wformat-truncation...) fail here too.
run_suite plain build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The OCR tests run in both builds: the tesseract reads are the same, but
# under ASan the decoder and the test's own code are checked too (it found a
# use-after-free in the test's pty relay that the plain build passed over).
# QMS_ASAN_CTEST_ARGS="-LE ocr-heavy" leaves out test_ticket_ocr (~1 min).
run_suite asan+ubsan build-asan "${QMS_ASAN_CTEST_ARGS:-}" -DCMAKE_BUILD_TYPE=Debug \
  -DQMS_SANITIZE=ON

if [ "$fuzz_s" != 0 ]; then
  echo "=== fuzz build (clang, libFuzzer, ${fuzz_s}s per target)"
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQMS_FUZZ=ON \
    >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzzers
  while read -r target corpus; do
    [ -n "$target" ] || continue
    work="build-fuzz/corpus/$target"
    mkdir -p "$work"
    cp -n "$corpus"/* "$work"/ 2>/dev/null || true
    echo "--- fuzz $target"
    if ! "build-fuzz/bin/fuzz/$target" -max_total_time="$fuzz_s" -print_final_stats=0 \
         -artifact_prefix="build-fuzz/$target-" "$work" 2>build-fuzz/$target.log; then
      echo "FUZZ FAILURE in $target (see build-fuzz/$target.log):"
      tail -40 "build-fuzz/$target.log"
      status=1
    else
      grep -E "^(Done|#[0-9]+.*DONE)" "build-fuzz/$target.log" | tail -1 || true
    fi
  done < build-fuzz/fuzz-targets.txt
fi

if [ $status -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit $status
