#include "trainer/corpus/lazy_load_db.h"

#include <doctest/doctest.h>

#include "tests/corpus/test_support.h"
#include "trainer/corpus/austen_source.h"

namespace sherry::corpus {
namespace {

using test::contains;
using test::XdrWriter;

std::vector<uint8_t> novel(const std::vector<std::string>& lines) {
  XdrWriter w;
  w.strings(lines);
  return w.bytes();
}

// One rdb record: big-endian uncompressed size, then the stream (with a type byte for
// compressions 2 and 3).
std::vector<uint8_t> record(const std::vector<uint8_t>& serialized, int compression, char type) {
  std::vector<uint8_t> out;
  test::put_be32(out, static_cast<uint32_t>(serialized.size()));
  std::vector<uint8_t> body;
  if (compression == 1 || type == '1')
    body = test::zlib_compress(serialized);
  else if (type == '2')
    body = test::bzip2_compress(serialized);
  else if (type == 'Z')
    body = test::xz_compress(serialized);
  else
    body = serialized;
  if (compression != 1) out.push_back(static_cast<uint8_t>(type));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

struct Db {
  std::vector<uint8_t> rdx, rdb;
};

// list(variables = list(<names> = c(offset, length)...), references = list(), compressed = kind)
// serialized and gzip-compressed as saveRDS writes it.
std::vector<uint8_t> make_rdx(const std::vector<std::string>& names,
                              const std::vector<std::pair<int, int>>& positions, int compression,
                              bool gzip = true) {
  XdrWriter w;
  w.flags(19, true).put_int(3);
  w.flags(19, true).put_int(static_cast<int32_t>(positions.size()));
  for (auto [offset, length] : positions) w.ints(13, {offset, length});
  w.flags(2, false, true).symbol("names").strings(names).nil();
  w.flags(19).put_int(0);
  if (compression == 1)
    w.ints(10, {1});
  else
    w.flags(14).put_int(1).put_int(compression == 2 ? 0x40000000 : 0x40080000).put_int(0);
  w.flags(2, false, true).reference(1).strings({"variables", "references", "compressed"}).nil();
  return gzip ? test::zlib_compress(w.bytes(), true) : w.bytes();
}

Db make_db(int compression, char type) {
  const std::vector<uint8_t> first = record(
      novel({"EMMA", "", "Emma Woodhouse, handsome,", "clever, and rich"}), compression, type);
  const std::vector<uint8_t> second =
      record(novel({"PERSUASION", "", "Sir Walter _Elliot_"}), compression, type);
  Db db;
  db.rdb = first;
  db.rdb.insert(db.rdb.end(), second.begin(), second.end());
  db.rdx = make_rdx({"emma", "persuasion"},
                    {{0, static_cast<int>(first.size())},
                     {static_cast<int>(first.size()), static_cast<int>(second.size())}},
                    compression);
  return db;
}

TEST_CASE("the lazy-load reader loads variables for every compression R writes") {
  const std::vector<std::pair<int, char>> kinds = {{1, 0},   {2, '2'}, {2, '1'},
                                                   {2, '0'}, {3, 'Z'}, {3, '2'}};
  for (auto [compression, type] : kinds) {
    CAPTURE(compression);
    CAPTURE(type);
    Db bytes = make_db(compression, type);
    auto db = LazyLoadDb::parse(bytes.rdx, bytes.rdb, "pkg/data/Rdata");
    REQUIRE_MESSAGE(db.ok(), test::error_text(db));
    CHECK(db->compression() == compression);
    REQUIRE(db->variables().size() == 2);
    CHECK(db->variables()[1].name == "persuasion");
    auto emma = db->load("emma");
    REQUIRE_MESSAGE(emma.ok(), test::error_text(emma));
    CHECK((*emma)->strings[2] == std::optional<std::string>("Emma Woodhouse, handsome,"));
    auto persuasion = db->load("persuasion");
    REQUIRE_MESSAGE(persuasion.ok(), test::error_text(persuasion));
    auto documents = austen_documents_from_r(**persuasion, "persuasion", "persuasion");
    REQUIRE(documents.ok());
    REQUIRE(documents->size() == 1);
    CHECK((*documents)[0].name == "austen/persuasion");
    CHECK((*documents)[0].paragraphs ==
          std::vector<std::string>{"PERSUASION", "Sir Walter Elliot"});
  }
}

TEST_CASE("the lazy-load reader accepts an uncompressed index") {
  Db bytes = make_db(1, 0);
  const std::vector<uint8_t> first = record(novel({"x"}), 1, 0);
  auto db = LazyLoadDb::parse(make_rdx({"x"}, {{0, static_cast<int>(first.size())}}, 1, false),
                              first, "plain");
  REQUIRE_MESSAGE(db.ok(), test::error_text(db));
  CHECK(db->variables().size() == 1);
}

TEST_CASE("the lazy-load reader names a variable it does not have") {
  Db bytes = make_db(1, 0);
  auto db = LazyLoadDb::parse(bytes.rdx, bytes.rdb, "pkg/data/Rdata");
  REQUIRE(db.ok());
  auto missing = db->load("mansfieldpark");
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(
      missing.error().message(),
      "pkg/data/Rdata.rdx: variable \"mansfieldpark\": expected one of [emma, persuasion]"));
}

TEST_CASE("the lazy-load reader rejects an index entry outside the rdb file") {
  Db bytes = make_db(1, 0);
  bytes.rdb.resize(bytes.rdb.size() - 10);
  auto db = LazyLoadDb::parse(bytes.rdx, bytes.rdb, "pkg/data/Rdata");
  REQUIRE_FALSE(db.ok());
  CHECK(contains(db.error().message(), "Rdata.rdb: variable \"persuasion\": expected bytes"));
}

TEST_CASE("the lazy-load reader rejects a corrupt compressed record") {
  Db bytes = make_db(1, 0);
  for (size_t i = 8; i < 20; ++i) bytes.rdb[i] ^= 0x5A;
  auto db = LazyLoadDb::parse(bytes.rdx, bytes.rdb, "pkg/data/Rdata");
  REQUIRE(db.ok());
  auto emma = db->load("emma");
  REQUIRE_FALSE(emma.ok());
  CHECK(contains(emma.error().message(), "Rdata.rdb: variable \"emma\""));
}

TEST_CASE("the lazy-load reader rejects a record whose size field disagrees with its data") {
  Db bytes = make_db(1, 0);
  bytes.rdb[3] ^= 0x01;  // uncompressed size off by one
  auto db = LazyLoadDb::parse(bytes.rdx, bytes.rdb, "pkg/data/Rdata");
  REQUIRE(db.ok());
  auto emma = db->load("emma");
  REQUIRE_FALSE(emma.ok());
  CHECK(contains(emma.error().message(), "variable \"emma\""));
}

TEST_CASE("the lazy-load reader rejects an unknown compression type byte") {
  Db bytes = make_db(2, '2');
  bytes.rdb[4] = 'Q';
  auto db = LazyLoadDb::parse(bytes.rdx, bytes.rdb, "pkg/data/Rdata");
  REQUIRE(db.ok());
  auto emma = db->load("emma");
  REQUIRE_FALSE(emma.ok());
  CHECK(contains(emma.error().message(),
                 "compression type byte: expected '0', '1' or '2', found 0x51"));
}

TEST_CASE("the lazy-load reader rejects an index that is not the expected list") {
  XdrWriter w;
  w.strings({"not an index"});
  auto db = LazyLoadDb::parse(test::zlib_compress(w.bytes(), true), {}, "pkg/data/Rdata");
  REQUIRE_FALSE(db.ok());
  CHECK(contains(db.error().message(),
                 "Rdata.rdx: index: expected a list, found a character vector"));

  auto garbage = LazyLoadDb::parse(std::vector<uint8_t>{0x1f, 0x8b, 1, 2, 3}, {}, "pkg/data/Rdata");
  REQUIRE_FALSE(garbage.ok());
  CHECK(contains(garbage.error().message(), "Rdata.rdx: gzip stream"));
}

TEST_CASE("the lazy-load reader reports missing files by name") {
  auto db = LazyLoadDb::open("/nonexistent/sherry/Rdata");
  REQUIRE_FALSE(db.ok());
  CHECK(contains(db.error().message(), "/nonexistent/sherry/Rdata.rdx"));
}

TEST_CASE("randomly corrupted lazy-load databases give an error or a value and never crash") {
  for (auto [compression, type] : std::vector<std::pair<int, char>>{{1, 0}, {2, '2'}, {3, 'Z'}}) {
    const Db original = make_db(compression, type);
    for (uint64_t seed = 1; seed <= 300; ++seed) {
      CAPTURE(seed);
      test::Corrupter corrupter(seed);
      const bool index = seed % 3 == 0;
      const std::vector<uint8_t> rdx = index ? corrupter.corrupt(original.rdx) : original.rdx;
      const std::vector<uint8_t> rdb = index ? original.rdb : corrupter.corrupt(original.rdb);
      auto db = LazyLoadDb::parse(rdx, rdb, "fuzz/Rdata");
      if (!db.ok()) continue;
      for (const auto& variable : db->variables()) {
        auto object = db->load(variable.name);
        if (!object.ok()) CHECK(contains(object.error().message(), "fuzz/Rdata"));
      }
    }
  }
}

}  // namespace
}  // namespace sherry::corpus
