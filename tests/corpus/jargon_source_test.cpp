// The Jargon File reader (dict-jargon's dictd database) on hand-built databases.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/corpus/test_support.h"
#include "trainer/corpus/jargon_source.h"

namespace sherry::corpus {
namespace {

using test::contains;

// dictd's base 64: the most significant digit first.
std::string dictd_number(uint64_t value) {
  static const char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[value % 64]);
    value /= 64;
  } while (value > 0);
  return out;
}

struct Dictionary {
  std::string index, dict;
  void add(const std::string& headword, const std::string& text) {
    index += headword + "\t" + dictd_number(dict.size()) + "\t" + dictd_number(text.size()) + "\n";
    dict += text;
  }
};

Dictionary sample() {
  Dictionary d;
  d.add("00-database-short", "00-database-short\n     The Jargon File\n");
  d.add("/dev/null",
        "/dev/null\n /dev·nuhl/, n.\n\n    [from the Unix null device] A notional ‘black hole’ in\n"
        "    any information space. See {bit\n    bucket}.\n\n    Second paragraph.\n\n");
  d.add("abbrev", "abbrev\n /@·breev'/, n.\n\n    Common abbreviation for ‘abbreviation’.\n\n");
  d.add("ABEND", "ABEND\n /a´bend/, n.\n\n    [ABnormal END] Abnormal termination.\n\n");
  d.add("zorch",
        "zorch\n /zorch/, v.\n\n    To move quickly.\n\n        o----)||(--+   diagram\n\n"
        "    \xe2\x94\x8c\xe2\x94\x80\xe2\x94\x90 a table\n\n");
  return d;
}

TEST_CASE("dictd numbers decode in base 64") {
  uint64_t value = 0;
  CHECK(decode_dictd_number("B", &value));
  CHECK(value == 1);
  CHECK(decode_dictd_number("BA", &value));
  CHECK(value == 64);
  CHECK(decode_dictd_number("FLYY", &value));
  CHECK(value == ((5 * 64 + 11) * 64 + 24) * 64 + 24);
  CHECK_FALSE(decode_dictd_number("", &value));
  CHECK_FALSE(decode_dictd_number("A-B", &value));
  CHECK_FALSE(decode_dictd_number("AAAAAAAAAAAAA", &value));
}

TEST_CASE("jargon entries become paragraphs grouped by initial letter in file order") {
  // The index sorts headwords its own way; an alias repeats an offset.
  Dictionary d = sample();
  d.index += "null device\t" + dictd_number(d.dict.find("/dev/null")) + "\t" +
             dictd_number(d.dict.find("abbrev") - d.dict.find("/dev/null")) + "\n";
  auto documents = jargon_documents(d.index, d.dict, "jargon.index");
  REQUIRE_MESSAGE(documents.ok(), test::error_text(documents));
  REQUIRE(documents->size() == 3);
  CHECK((*documents)[0].name == "jargon/0");
  CHECK((*documents)[0].source == "jargon");
  CHECK((*documents)[0].book.empty());
  CHECK((*documents)[0].paragraphs ==
        std::vector<std::string>{"/dev/null",
                                 "[from the Unix null device] A notional ‘black hole’ in any "
                                 "information space. See bit bucket.",
                                 "Second paragraph."});
  CHECK((*documents)[1].name == "jargon/A");
  CHECK((*documents)[1].paragraphs ==
        std::vector<std::string>{"abbrev", "Common abbreviation for ‘abbreviation’.", "ABEND",
                                 "[ABnormal END] Abnormal termination."});
  CHECK((*documents)[2].name == "jargon/Z");
  // The preformatted diagram and the box-drawn table are dropped.
  CHECK((*documents)[2].paragraphs == std::vector<std::string>{"zorch", "To move quickly."});
}

TEST_CASE("a malformed jargon index line or an entry outside the dictionary is rejected") {
  Dictionary d = sample();
  auto bad = jargon_documents(d.index + "broken line\n", d.dict, "x/jargon.index");
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(),
                 "x/jargon.index: line 6: expected \"headword<TAB>offset<TAB>length\" in dictd "
                 "base 64, found \"broken line\""));
  auto outside =
      jargon_documents(d.index + "far\t" + dictd_number(d.dict.size()) + "\tB\n", d.dict, "j");
  REQUIRE_FALSE(outside.ok());
  CHECK(contains(outside.error().message(), "j: line 6: expected an entry inside the"));
  auto empty = jargon_documents("00-database-short\tA\tB\n", d.dict, "j");
  REQUIRE_FALSE(empty.ok());
  CHECK(contains(empty.error().message(), "j: expected dictionary entries, found none"));
}

TEST_CASE("the jargon package reader gunzips the dictionary it finds beside the index") {
  test::TempDir root;
  const Dictionary d = sample();
  std::filesystem::create_directories(root.file("usr/share/dictd"));
  std::ofstream(root.file(std::string(kJargonIndex))) << d.index;
  const auto gz = test::zlib_compress(std::vector<uint8_t>(d.dict.begin(), d.dict.end()), true);
  std::ofstream(root.file(std::string(kJargonDict)), std::ios::binary)
      .write(reinterpret_cast<const char*>(gz.data()), static_cast<std::streamsize>(gz.size()));
  auto documents = read_jargon(root.path());
  REQUIRE_MESSAGE(documents.ok(), test::error_text(documents));
  CHECK(documents->size() == 3);
  std::filesystem::remove(root.file(std::string(kJargonDict)));
  auto missing = read_jargon(root.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message(), "jargon.dict.dz"));
}

}  // namespace
}  // namespace sherry::corpus
