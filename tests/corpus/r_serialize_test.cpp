#include "trainer/corpus/r_serialize.h"

#include <doctest/doctest.h>

#include "tests/corpus/test_support.h"

namespace sherry::corpus {
namespace {

using test::contains;
using test::XdrWriter;

// data.frame(text = c("It is a truth", NA, "Emma Woodhouse"), book = factor(c(2, 2, 1),
// labels = c("Emma", "Pride & Prejudice"))) as R 4 writes it (class symbol shared by reference).
std::vector<uint8_t> tiny_data_frame(int version = 3) {
  XdrWriter w(version);
  w.flags(19, /*has_attr=*/true, false, 0, /*is_object=*/true).put_int(2);
  w.flags(16).put_int(3).charsxp("It is a truth").na_string().charsxp("Emma Woodhouse");
  w.ints(13, {2, 2, 1}, /*has_attr=*/true);
  w.flags(2, false, true).symbol("levels").strings({"Emma", "Pride & Prejudice"});  // ref 1
  w.flags(2, false, true).symbol("class").strings({"factor"});                      // ref 2
  w.nil();
  w.flags(2, false, true).symbol("names").strings({"text", "book"});  // ref 3
  w.flags(2, false, true).reference(2).strings({"data.frame"});
  w.flags(2, false, true).symbol("row.names").ints(13, {r::kNaInteger, -3});
  w.nil();
  return w.bytes();
}

TEST_CASE("the R reader parses a hand-built data frame of text and a book factor") {
  for (int version : {2, 3}) {
    auto object = r::unserialize(tiny_data_frame(version), "frame.rds");
    REQUIRE_MESSAGE(object.ok(), test::error_text(object));
    const r::Object& frame = **object;
    CHECK(frame.type == r::SexpType::kList);
    CHECK(frame.inherits("data.frame"));
    CHECK(frame.names() == std::vector<std::string>{"text", "book"});
    REQUIRE(frame.items.size() == 2);
    const r::Object& text = *frame.items[0];
    REQUIRE(text.strings.size() == 3);
    CHECK(text.strings[0] == std::optional<std::string>("It is a truth"));
    CHECK_FALSE(text.strings[1].has_value());
    const r::Object& book = *frame.items[1];
    CHECK(book.type == r::SexpType::kInteger);
    CHECK(book.inherits("factor"));
    CHECK(book.ints == std::vector<int32_t>{2, 2, 1});
    REQUIRE(book.attribute("levels") != nullptr);
    CHECK(book.attribute("levels")->strings[1] == std::optional<std::string>("Pride & Prejudice"));
    REQUIRE(frame.attribute("row.names") != nullptr);
    CHECK(frame.attribute("row.names")->ints == std::vector<int32_t>{r::kNaInteger, -3});
  }
}

TEST_CASE("the R reader converts Latin-1 strings to UTF-8 and keeps UTF-8 ones") {
  XdrWriter w;
  w.flags(16).put_int(3).charsxp("caf\xe9", 4).charsxp("caf\xc3\xa9", 8).charsxp("plain", 0);
  auto object = r::unserialize(w.bytes(), "strings.rds");
  REQUIRE_MESSAGE(object.ok(), test::error_text(object));
  CHECK((*object)->strings[0] == std::optional<std::string>("caf\xc3\xa9"));
  CHECK((*object)->strings[1] == std::optional<std::string>("caf\xc3\xa9"));

  XdrWriter latin(3, "latin1");
  latin.flags(16).put_int(1).charsxp("na\xefve", 0);
  auto native = r::unserialize(latin.bytes(), "latin1.rds");
  REQUIRE_MESSAGE(native.ok(), test::error_text(native));
  CHECK((*native)->strings[0] == std::optional<std::string>("na\xc3\xafve"));
}

TEST_CASE("the R reader reads logical and double vectors and NULL") {
  XdrWriter w;
  w.flags(19).put_int(3);
  w.ints(10, {1, 0, r::kNaInteger});
  w.flags(14).put_int(1).put_int(0x3FF80000).put_int(0);  // 1.5
  w.nil();
  auto object = r::unserialize(w.bytes(), "mixed.rds");
  REQUIRE_MESSAGE(object.ok(), test::error_text(object));
  CHECK((*object)->items[0]->type == r::SexpType::kLogical);
  CHECK((*object)->items[0]->ints == std::vector<int32_t>{1, 0, r::kNaInteger});
  CHECK((*object)->items[1]->reals == std::vector<double>{1.5});
  CHECK((*object)->items[2]->type == r::SexpType::kNil);
}

TEST_CASE("the R reader rejects a bad header with a message naming the object") {
  std::vector<uint8_t> bytes = tiny_data_frame();
  bytes[0] = 'A';
  auto object = r::unserialize(bytes, "frame.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "frame.rds"));
  CHECK(contains(object.error().message(), "expected \"X\\n\""));

  auto empty = r::unserialize({}, "empty.rds");
  REQUIRE_FALSE(empty.ok());
  CHECK(contains(empty.error().message(), "fewer than 2 bytes"));
}

TEST_CASE("the R reader rejects an unknown format version") {
  XdrWriter w(7);
  w.nil();
  auto object = r::unserialize(w.bytes(), "v7.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "expected 2 or 3, found 7"));
}

TEST_CASE("the R reader rejects truncated data at every length") {
  const std::vector<uint8_t> bytes = tiny_data_frame();
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto object = r::unserialize(std::span<const uint8_t>(bytes.data(), size), "cut.rds");
    REQUIRE_FALSE(object.ok());
  }
  auto object = r::unserialize(std::span<const uint8_t>(bytes.data(), bytes.size() - 3), "cut.rds");
  CHECK(contains(object.error().message(), "truncated"));
}

TEST_CASE("the R reader rejects trailing bytes after the object") {
  std::vector<uint8_t> bytes = tiny_data_frame();
  bytes.push_back(0);
  auto object = r::unserialize(bytes, "long.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "1 more bytes"));
}

TEST_CASE("the R reader rejects unsupported types such as closures") {
  XdrWriter w;
  w.flags(3);  // CLOSXP
  auto object = r::unserialize(w.bytes(), "closure.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "found SEXPTYPE 3"));
}

TEST_CASE("the R reader rejects a reference to an unknown symbol") {
  XdrWriter w;
  w.flags(2, false, true).reference(5).nil().nil();
  auto object = r::unserialize(w.bytes(), "ref.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "expected an index in 1..0, found 5"));
}

TEST_CASE("the R reader rejects a vector length larger than the data") {
  XdrWriter w;
  w.flags(13).put_int(1 << 30);
  auto object = r::unserialize(w.bytes(), "huge.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "length 1073741824"));

  XdrWriter negative;
  negative.flags(16).put_int(-5);
  auto bad = r::unserialize(negative.bytes(), "negative.rds");
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(), "expected a length >= 0, found -5"));
}

TEST_CASE("the R reader rejects a character vector element that is not a CHARSXP") {
  XdrWriter w;
  w.flags(16).put_int(1).flags(13).put_int(0);
  auto object = r::unserialize(w.bytes(), "strings.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "expected a CHARSXP (9), found type 13"));
}

TEST_CASE("the R reader rejects nesting deeper than its limit") {
  XdrWriter w;
  for (int i = 0; i < 300; ++i) w.flags(19).put_int(1);
  w.nil();
  auto object = r::unserialize(w.bytes(), "deep.rds");
  REQUIRE_FALSE(object.ok());
  CHECK(contains(object.error().message(), "nesting"));
}

TEST_CASE("randomly corrupted R blobs give an error or a value and never crash") {
  const std::vector<uint8_t> original = tiny_data_frame();
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    CAPTURE(seed);
    test::Corrupter corrupter(seed);
    const std::vector<uint8_t> bytes = corrupter.corrupt(original);
    auto object = r::unserialize(bytes, "fuzz.rds");
    if (!object.ok()) CHECK(contains(object.error().message(), "fuzz.rds"));
  }
}

}  // namespace
}  // namespace sherry::corpus
