// Training windows never cross a document boundary; the validation set is fixed, tiled and
// spread over the validation documents.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "trainer/qat/token_data.h"

namespace sherry::train {
namespace {

TEST_CASE("training windows lie inside one document and cover every possible start") {
  // Documents of 10, 2 (shorter than a window of 4 + 1) and 28 tokens.
  const std::vector<int64_t> documents = {0, 10, 12, 40};
  const int64_t seq = 4;
  const WindowIndex index(documents, 40, seq);
  CHECK(index.start_count() == (10 - 4) + (28 - 4));
  CHECK(index.documents_too_short() == 1);
  CHECK(index.tokens_in_short_documents() == 2);
  std::set<int64_t> starts;
  for (int64_t k = 0; k < index.start_count(); ++k) starts.insert(index.start(k));
  std::set<int64_t> expected;
  for (int64_t s = 0; s + seq + 1 <= 10; ++s) expected.insert(s);
  for (int64_t s = 12; s + seq + 1 <= 40; ++s) expected.insert(s);
  CHECK(starts == expected);
  Rng rng(3);
  const std::vector<int64_t> drawn = index.sample(rng, 2000);
  std::set<int64_t> seen;
  for (int64_t start : drawn) {
    INFO("window start " << start);
    // The window [start, start + seq] (inputs and the shifted targets) inside one document.
    const auto doc = std::upper_bound(documents.begin(), documents.end(), start) - 1;
    REQUIRE(start + seq + 1 <= *(doc + 1));
    seen.insert(start);
  }
  CHECK(seen == expected);  // uniform enough that 2000 draws hit all 30 starts
}

TEST_CASE("without document offsets the split is one document") {
  const WindowIndex index({}, 100, 9);
  CHECK(index.start_count() == 100 - 9);
  CHECK(index.start(0) == 0);
  CHECK(index.start(90) == 90);
}

TEST_CASE("the validation set tiles documents and keeps evenly spaced windows") {
  // 17 tokens: windows at 0, 4, 8, 12 (12 + 5 ≤ 17); 3 tokens: none; 9 tokens: 20, 24.
  const std::vector<int64_t> documents = {0, 17, 20, 29};
  const std::vector<int64_t> all = validation_windows(documents, 29, 4, 1000);
  CHECK(all == std::vector<int64_t>{0, 4, 8, 12, 20, 24});
  // At most 12 target tokens: 3 windows, evenly spaced over the six.
  CHECK(validation_windows(documents, 29, 4, 12) == std::vector<int64_t>{0, 8, 20});
  CHECK(validation_windows(documents, 29, 4, 10) == std::vector<int64_t>{0, 8, 20});
  CHECK(validation_windows({0, 3}, 3, 4, 100).empty());
}

}  // namespace
}  // namespace sherry::train
