#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, fetches what the tests read from the
# reachable registries (llama.cpp from npm for the interop and cross-check entries, the corpus's
# Debian packages), runs ctest in a Release build, then again in an AddressSanitizer +
# UndefinedBehaviorSanitizer build (any report fails the run), then a bounded libFuzzer run of the
# GGUF reader and of sherry-convert's checkpoint readers (clang). Ends with the ISA coverage line
# (scripts/isa_coverage.sh) and the skips.
#
# In CI (CI=true; .ci/run sets it) a skip is a failure: a test that exits 77, a doctest case that
# calls SHERRY_SKIP, a Python skip, a fetch that fails. Locally skips are allowed and listed at the
# end. SHERRY_REQUIRE_ISA=avx2,avx512vbmi,... makes a kernel path that did not run fail the run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)
start=$(date +%s)
stage() { echo; echo "=== test.sh [$(( $(date +%s) - start ))s] $*"; }
in_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }

# What the tests report beside pass/fail: skips (testing/skip.h, scripts/lib/skip.sh,
# tests/bench_report/skip_or_fail.py) and the code paths that ran (jit/path_log.h).
export SHERRY_SKIP_LOG=$root/build/test-skips.log
export SHERRY_PATH_LOG=$root/build/test-paths.log
mkdir -p build
: >"$SHERRY_SKIP_LOG"
: >"$SHERRY_PATH_LOG"

# Fetch steps: a failure fails CI; elsewhere it is noted and the tests that need it skip.
fetch() {
  local what=$1
  shift
  if ! "$@"; then
    in_ci && { echo "test.sh: FAILED: $what (required in CI)" >&2; exit 1; }
    echo "test.sh: $what failed; the tests that need it will be skipped" >&2
    echo "test.sh: fetch failed: $what" >>"$SHERRY_SKIP_LOG"
  fi
}

# ctest, its output kept: in CI an entry that did not run (skipped, exit 77) fails the run.
run_ctest() {
  local dir=$1
  shift
  local log="$dir/ctest-output.log"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "$@") 2>&1 | tee "$log"
  if grep -q "The following tests did not run" "$log"; then
    local skipped
    skipped=$(sed -n '/The following tests did not run/,/^$/p' "$log" | tail -n +2)
    in_ci && { echo "test.sh: FAILED: CTest entries skipped in CI:" >&2; echo "$skipped" >&2; exit 1; }
    echo "$skipped" | sed "s|^|$dir: ctest skipped: |" >>"$SHERRY_SKIP_LOG"
  fi
}

stage "release build"
scripts/setup.sh --build-dir build
stage "fetch: the corpus's Debian packages, llama.cpp (npm bundle, built once)"
fetch "sherry-data fetch (apt-get download)" build/bin/sherry-data fetch --cache .cache/corpus
fetch "scripts/fetch_llama_cpp.sh" scripts/fetch_llama_cpp.sh --jobs "$jobs"
stage "release tests"
run_ctest build

stage "asan+ubsan build"
scripts/setup.sh --build-dir build-asan --sanitize
stage "asan+ubsan tests"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan_suppressions.txt
run_ctest build-asan -LE no_sanitize
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

if [ -f tests/fuzz/CMakeLists.txt ]; then
  stage "fuzz build (clang, libFuzzer)"
  scripts/setup.sh --build-dir build-fuzz --fuzz --target fuzz_gguf_reader --target fuzz_hf_checkpoint
  stage "fuzz run"
  run_ctest build-fuzz -L fuzz
fi

stage "coverage and skips"
scripts/isa_coverage.sh "$SHERRY_PATH_LOG" build/bin/sherry-asm
if [ -s "$SHERRY_SKIP_LOG" ]; then
  in_ci && { echo "test.sh: FAILED: skips in CI:" >&2; sort -u "$SHERRY_SKIP_LOG" >&2; exit 1; }
  echo "skipped here (each fails in CI):"
  sort -u "$SHERRY_SKIP_LOG" | sed 's/^/  /'
else
  echo "skipped: none"
fi
stage "all tests passed"
