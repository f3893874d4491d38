# shellcheck shell=bash
# skip_or_fail REASON: a test script that cannot check what it is for here. In CI (CI=true) that
# is a failure (exit 1, with the reason); elsewhere the script exits 77, which CTest reports as
# skipped (SKIP_RETURN_CODE 77), after appending the reason to $SHERRY_SKIP_LOG for the end of
# scripts/test.sh. The C++ twin is testing/skip.h.
skip_or_fail() {
  local name
  name=$(basename "$0")
  if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
    echo "$name: FAILED: cannot be skipped in CI (CI=true): $*" >&2
    exit 1
  fi
  [ -n "${SHERRY_SKIP_LOG:-}" ] && echo "$name: $*" >>"$SHERRY_SKIP_LOG"
  echo "$name: skipped: $*" >&2
  exit 77
}
