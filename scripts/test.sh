#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest in a Release build, then again
# in an AddressSanitizer + UndefinedBehaviorSanitizer build (any report fails the run), then a
# bounded libFuzzer run of the GGUF reader (clang).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)
start=$(date +%s)
stage() { echo; echo "=== test.sh [$(( $(date +%s) - start ))s] $*"; }

stage "release build"
scripts/setup.sh --build-dir build
stage "release tests"
(cd build && ctest --output-on-failure -j "$jobs")

stage "asan+ubsan build"
scripts/setup.sh --build-dir build-asan --sanitize
stage "asan+ubsan tests"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan_suppressions.txt
(cd build-asan && ctest --output-on-failure -j "$jobs" -LE no_sanitize)
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

if [ -f tests/fuzz/CMakeLists.txt ]; then
  stage "fuzz build (clang, libFuzzer)"
  scripts/setup.sh --build-dir build-fuzz --fuzz --target fuzz_gguf_reader
  stage "fuzz run"
  (cd build-fuzz && ctest --output-on-failure -L fuzz)
fi
stage "all tests passed"
