// A check that cannot run here (a fetched file, a built llama.cpp, a program that is missing).
// In CI (CI=true, as GitHub-style runners and scripts/test.sh under .ci/run set it) that is a
// failure with its reason: CI must check everything. Elsewhere the test says it is skipped and
// appends "file:line: reason" to $SHERRY_SKIP_LOG, which scripts/test.sh lists at the end.
// The shell twin is scripts/lib/skip.sh, the Python one tests/bench_report/skip_or_fail.py.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

namespace sherry::testing {

inline bool skips_are_failures() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::strcmp(ci, "true") == 0 || std::strcmp(ci, "1") == 0);
}

inline void log_skip(const char* file, int line, const std::string& reason) {
  const char* path = std::getenv("SHERRY_SKIP_LOG");
  if (path == nullptr || *path == '\0') return;
  if (std::FILE* log = std::fopen(path, "a")) {
    std::fprintf(log, "%s:%d: %s\n", file, line, reason.c_str());
    std::fclose(log);
  }
}

// FAIL in CI; elsewhere the skip is logged and shown. Returns only when the test may go on
// without the check (the caller then returns or skips the part).
inline void report_skip(const char* file, int line, const std::string& reason) {
  if (skips_are_failures()) FAIL("cannot be skipped in CI (CI=true): " << reason);
  log_skip(file, line, reason);
  MESSAGE("skipped: " << reason);
}

}  // namespace sherry::testing

// Ends the current test case: FAIL in CI, a logged "skipped" message elsewhere. `reason` is a
// stream expression, e.g. SHERRY_SKIP(path << " is missing: run scripts/fetch.sh").
#define SHERRY_SKIP(reason)                                                        \
  do {                                                                             \
    std::ostringstream sherry_skip_reason_;                                        \
    sherry_skip_reason_ << reason;                                                 \
    ::sherry::testing::report_skip(__FILE__, __LINE__, sherry_skip_reason_.str()); \
    return;                                                                        \
  } while (false)
