#!/usr/bin/env bash
# The suite's own rules, each shown to bite (issue 17): in CI (CI=true) a skip is a failure in all
# three languages, a doctest filter that selects nothing fails, and the ISA coverage line fails on
# a path this CPU runs that no test ran, or on a required path that did not run.
#   suite_rules_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
# Nothing of this script reaches the suite's own skip log (scripts/test.sh exports it).
export SHERRY_SKIP_LOG="$tmp/skips"
expect() {  # expect STATUS DESCRIPTION COMMAND...: the command exits with STATUS
  local want=$1 what=$2
  shift 2
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAILED: $what: expected exit $want, got $got"
    sed 's/^/    /' "$tmp/out"
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}
expect_output() {  # expect_output PATTERN DESCRIPTION: the last command's output matches
  if ! grep -qE "$1" "$tmp/out"; then
    echo "FAILED: $2: output lacks /$1/"
    sed 's/^/    /' "$tmp/out"
    failures=$((failures + 1))
  fi
}

# Shell: scripts/lib/skip.sh.
skipper="$tmp/skipper.sh"
printf '#!/usr/bin/env bash\nsource %q/scripts/lib/skip.sh\nskip_or_fail "no widget here"\n' "$src" >"$skipper"
chmod +x "$skipper"
expect 77 "shell skip outside CI exits 77" env -u CI SHERRY_SKIP_LOG="$tmp/skips" "$skipper"
expect_output "skipped: no widget here" "shell skip says why"
grep -q "no widget here" "$tmp/skips" || { echo "FAILED: shell skip not logged"; failures=$((failures + 1)); }
expect 1 "shell skip in CI fails" env CI=true "$skipper"
expect_output "cannot be skipped in CI" "shell skip in CI says why"

# C++: SHERRY_SKIP (testing/skip.h) in the MPI case, with mpirun hidden from PATH.
empty_path="$tmp/no-programs"
mkdir -p "$empty_path"
mpi_case=(--no-colors=true --no-skip=true --test-case=*mpirun*)
expect 0 "doctest skip outside CI passes" env -u CI PATH="$empty_path" SHERRY_SKIP_LOG="$tmp/skips" \
  "$bin/test_trainer" "${mpi_case[@]}"
expect_output "skipped: mpirun not found" "doctest skip says why"
grep -q "mpirun not found" "$tmp/skips" || { echo "FAILED: doctest skip not logged"; failures=$((failures + 1)); }
expect 1 "doctest skip in CI fails" env CI=true PATH="$empty_path" "$bin/test_trainer" "${mpi_case[@]}"
expect_output "cannot be skipped in CI" "doctest skip in CI says why"

# doctest filters (tests/doctest_main.cpp).
expect 1 "a filter matching no test case fails" "$bin/test_tune" --no-colors=true -sf=*no_such_file*
expect_output "no test case matched the filters" "the empty filter is named"
expect 0 "a filter matching a test case passes" "$bin/test_tune" --no-colors=true -sf=*tuning_file_test*
expect 0 "listing test cases is not a run" "$bin/test_tune" --list-test-cases -sf=*no_such_file*

# Python: tests/bench_report/skip_or_fail.py.
if command -v python3 >/dev/null 2>&1; then
  cat >"$tmp/py_skip_test.py" <<PY
import sys, unittest
sys.path.insert(0, "$src/tests/bench_report")
from skip_or_fail import skip_unless

@skip_unless(False, "no harness here")
class NeedsHarness(unittest.TestCase):
    def test_something(self):
        pass

unittest.main()
PY
  expect 0 "python skip outside CI passes" env -u CI python3 "$tmp/py_skip_test.py"
  expect_output "skipped=1" "python skip is reported"
  expect 1 "python skip in CI fails" env CI=true python3 "$tmp/py_skip_test.py"
  expect_output "cannot be skipped in CI" "python skip in CI says why"
else
  [ "${CI:-}" = true ] && { echo "FAILED: python3 missing in CI"; failures=$((failures + 1)); }
fi

# ISA coverage (scripts/isa_coverage.sh) over logs written here, against this CPU's paths.
coverage="$src/scripts/isa_coverage.sh"
"$bin/sherry-asm" --list-paths >"$tmp/paths"
awk '$3 == "runs-here" { print "kernel " $1 }' "$tmp/paths" >"$tmp/full.log"
echo "float generic" >>"$tmp/full.log"
echo "int8 scalar" >>"$tmp/full.log"
expect 0 "coverage passes when every runnable path ran" env -u SHERRY_REQUIRE_ISA "$coverage" "$tmp/full.log" "$bin/sherry-asm"
expect_output "^ISA coverage: kernel paths ran: " "the coverage line is printed"
expect_output "; int8 head paths ran: scalar" "the int8 head paths are named"
first=$(awk '$3 == "runs-here" { print $1; exit }' "$tmp/paths")
grep -vx "kernel $first" "$tmp/full.log" >"$tmp/gap.log"
expect 1 "coverage fails when a runnable path ($first) did not run" env -u SHERRY_REQUIRE_ISA "$coverage" "$tmp/gap.log" "$bin/sherry-asm"
expect_output "no test ran it" "the gap is named"
other=$(awk '$3 != "runs-here" { print $1; exit }' "$tmp/paths")
if [ -n "$other" ]; then
  expect 1 "SHERRY_REQUIRE_ISA=$other fails when it did not run" env SHERRY_REQUIRE_ISA="$other" "$coverage" "$tmp/full.log" "$bin/sherry-asm"
  expect_output "SHERRY_REQUIRE_ISA names $other" "the required path is named"
fi
expect 1 "SHERRY_REQUIRE_ISA with an unknown name fails" env SHERRY_REQUIRE_ISA=avx9000 "$coverage" "$tmp/full.log" "$bin/sherry-asm"

[ "$failures" -eq 0 ] || { echo "suite_rules: $failures failed"; exit 1; }
echo "suite_rules: all passed"
