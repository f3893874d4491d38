// Over the real Debian packages: run only when their .deb files are already in the corpus cache
// (scripts/test.sh fetches them with `sherry-data fetch`); otherwise each test is skipped, which
// fails in CI (testing/skip.h). No network from the tests themselves.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "testing/skip.h"
#include "tests/corpus/test_support.h"
#include "trainer/corpus/austen_source.h"
#include "trainer/corpus/package_cache.h"
#include "trainer/corpus/web_source.h"

namespace sherry::corpus {
namespace {

// The extracted package, or nothing (with a message) when its .deb is not cached.
std::optional<FetchedPackage> cached_package(const std::string& name) {
  auto package = ensure_package(SHERRY_CORPUS_CACHE_DIR, name, /*fetch=*/false);
  if (!package.ok()) {
    sherry::testing::report_skip(__FILE__, __LINE__,
                                 name + " is not cached in " SHERRY_CORPUS_CACHE_DIR
                                        "; run sherry-data fetch (scripts/test.sh does)");
    return std::nullopt;
  }
  return *package;
}

void check_clean(const Document& document) {
  for (const auto& paragraph : document.paragraphs) {
    REQUIRE_FALSE(paragraph.empty());
    CHECK_MESSAGE(paragraph.find_first_of("<>\n\t") == std::string::npos,
                  document.name << ": " << paragraph);
    CHECK(paragraph.front() != ' ');
    CHECK(paragraph.back() != ' ');
    CHECK(paragraph.find("  ") == std::string::npos);
  }
}

TEST_SUITE("real packages") {
  TEST_CASE("real package r-cran-janeaustenr gives the six novels as clean text") {
    auto package = cached_package("r-cran-janeaustenr");
    if (!package) return;
    auto documents = read_austen(package->root);
    REQUIRE_MESSAGE(documents.ok(), test::error_text(documents));
    std::vector<std::string> names;
    for (const auto& document : *documents) names.push_back(document.name);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"austen/emma", "austen/mansfieldpark",
                                            "austen/northangerabbey", "austen/persuasion",
                                            "austen/prideprejudice", "austen/sensesensibility"});
    uint64_t characters = 0;
    for (const auto& document : *documents) {
      check_clean(document);
      characters += document.characters();
      CHECK(document.characters() > 300000);
    }
    CHECK(characters > 3500000);
    const Document& emma = (*documents)[0];
    CHECK(emma.name == "austen/emma");
    CHECK(std::any_of(emma.paragraphs.begin(), emma.paragraphs.end(), [](const std::string& p) {
      return p.starts_with("Emma Woodhouse, handsome, clever, and rich, with a comfortable home");
    }));
  }

  TEST_CASE("real package sword-text-web gives the World English Bible book by book") {
    auto package = cached_package("sword-text-web");
    if (!package) return;
    auto documents = read_web(package->root);
    REQUIRE_MESSAGE(documents.ok(), test::error_text(documents));
    std::set<std::string> names;
    uint64_t characters = 0;
    for (const auto& document : *documents) {
      CHECK_MESSAGE(names.insert(document.name).second, "duplicate " << document.name);
      check_clean(document);
      characters += document.characters();
    }
    CHECK(documents->size() >= 66);
    for (const char* book :
         {"web/Gen", "web/Ps", "web/Isa", "web/Matt", "web/John", "web/Rev", "web/Tob"})
      CHECK_MESSAGE(names.count(book) == 1, book);
    CHECK(characters > 4000000);
    CHECK(documents->front().name == "web/Gen");
    CHECK(documents->front().paragraphs.front().starts_with(
        "In the beginning, God created the heavens and the earth."));
    CHECK(documents->back().name == "web/Rev");
    CHECK(documents->back().paragraphs.back().ends_with("Amen."));
  }
}

}  // namespace
}  // namespace sherry::corpus
