// The main of every doctest binary: doctest's own, plus one rule — a run whose filters
// (-sf, -tc, -ts, ...) select no test case fails, so a CTest entry whose filter no longer matches
// (a renamed file or case) cannot pass while checking nothing. Query runs (--list-test-cases,
// --count, --help) are untouched.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {

struct RunTally {
  bool ran = false;  // test_run_start seen: not a query
  unsigned selected = 0;
};

RunTally& tally() {
  static RunTally value;
  return value;
}

class SelectionListener : public doctest::IReporter {
 public:
  explicit SelectionListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override { tally().ran = true; }
  void test_run_end(const doctest::TestRunStats& stats) override {
    tally().selected = stats.numTestCasesPassingFilters;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("selection", 1, SelectionListener);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (context.shouldExit() || status != 0) return status;
  if (tally().ran && tally().selected == 0) {
    std::fprintf(stderr,
                 "%s: no test case matched the filters: nothing was checked (a renamed file or "
                 "test case?)\n",
                 argc > 0 ? argv[0] : "test");
    return 1;
  }
  return 0;
}
