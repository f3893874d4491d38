// Every validation error of the reader: hand-built bad bytes in, the exact message out.
#include <doctest/doctest.h>

#include "runtime/gguf/gguf_file.h"
#include "tests/gguf/gguf_test_util.h"

namespace sherry::gguf {
namespace {

using testing::Bytes;

std::string parse_error(const Bytes& bytes) {
  auto reader = Reader::parse(bytes.data, "bad.gguf");
  REQUIRE_MESSAGE(!reader.ok(), "expected an error");
  return reader.error().message();
}

// A header + one F32 tensor "w" of 8 elements at offset 0, with its data.
Bytes one_tensor_file(uint32_t type = 0, std::vector<uint64_t> shape = {8}, uint64_t offset = 0) {
  Bytes b;
  b.header(1, 0).tensor("w", std::move(shape), type, offset).pad_to(32).zeros(64);
  return b;
}

TEST_CASE("the header is checked for size magic version and counts") {
  CHECK(parse_error(Bytes{}) ==
        "bad.gguf: header: expected at least 24 bytes, found a file of 0 bytes");
  Bytes short_file;
  short_file.u32(0x46554747).u32(3).u64(0);
  CHECK(parse_error(short_file) ==
        "bad.gguf: header: expected at least 24 bytes, found a file of 16 bytes");

  Bytes bad_magic;
  bad_magic.u32(0x46554746).u32(3).u64(0).u64(0);
  CHECK(parse_error(bad_magic) ==
        "bad.gguf: header: expected magic \"GGUF\" (0x46554747), found 0x46554746");

  Bytes v1;
  v1.header(0, 0, 1);
  CHECK(parse_error(v1) == "bad.gguf: header: expected version 2 or 3 (little-endian), found 1");
  Bytes big_endian;
  big_endian.header(0, 0, 0x03000000);
  CHECK(parse_error(big_endian) ==
        "bad.gguf: header: expected version 2 or 3 (little-endian), found 50331648");

  Bytes many_tensors;
  many_tensors.header(1000, 0).zeros(100);
  CHECK(
      parse_error(many_tensors) ==
      "bad.gguf: header: expected a tensor count of at most 3 for a file of 124 bytes, found 1000");
  Bytes huge_kv;
  huge_kv.header(0, UINT64_MAX).zeros(28);
  CHECK(parse_error(huge_kv) ==
        "bad.gguf: header: expected a key-value count of at most 2 for a file of 52 bytes, found "
        "18446744073709551615");

  Bytes v2;  // version 2 has the same layout and is accepted
  v2.header(0, 1, 2).kv_u32("a", 1);
  auto reader = Reader::parse(v2.data, "v2.gguf");
  REQUIRE(reader.ok());
  CHECK((*reader)->version() == 2);
}

TEST_CASE("keys must be present non-empty unique and well typed") {
  Bytes truncated_key;
  truncated_key.header(0, 2).kv_u32("a", 1).u64(100).zeros(8);
  CHECK(
      parse_error(truncated_key) ==
      "bad.gguf: key-value pair #1: key: expected a string of 100 bytes at offset 49, found only 8 "
      "bytes left");

  Bytes empty_key;
  empty_key.header(0, 1).str("").u32(4).u32(1);
  CHECK(parse_error(empty_key) ==
        "bad.gguf: key-value pair #0: expected a non-empty key, found an empty string");

  Bytes duplicate;
  duplicate.header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2);
  CHECK(parse_error(duplicate) ==
        "bad.gguf: key 'a.b' (pair #1): expected unique keys, found a duplicate");

  Bytes missing_type;
  missing_type.header(0, 1).str("kkkkkk").zeros(2);
  CHECK(parse_error(missing_type) ==
        "bad.gguf: key 'kkkkkk': type: expected 4 more bytes at offset 38, found only 2 (file "
        "truncated)");

  Bytes unknown_type;
  unknown_type.header(0, 1).str("k").u32(13).u32(0);
  CHECK(parse_error(unknown_type) == "bad.gguf: key 'k': expected a value type 0..12, found 13");
}

TEST_CASE("values are checked for truncation bools strings and arrays") {
  Bytes short_value;
  short_value.header(0, 1).str("k").u32(10).u32(0);  // uint64 with 4 bytes left
  CHECK(parse_error(short_value) ==
        "bad.gguf: key 'k': expected 8 more bytes at offset 37, found only 4 (file truncated)");

  Bytes bad_bool;
  bad_bool.header(0, 1).str("k").u32(7).u8(2);
  CHECK(parse_error(bad_bool) ==
        "bad.gguf: key 'k': expected a bool (0 or 1) at offset 37, found 2");

  Bytes long_string;
  long_string.header(0, 1).str("k").u32(8).u64(UINT64_MAX).zeros(4);
  CHECK(parse_error(long_string) ==
        "bad.gguf: key 'k': expected a string of 18446744073709551615 bytes at offset 45, found "
        "only 4 "
        "bytes left");

  Bytes bad_element_type;
  bad_element_type.header(0, 1).str("k").u32(9).u32(99).u64(0);
  CHECK(parse_error(bad_element_type) ==
        "bad.gguf: key 'k': expected an array element type 0..12, found 99");

  Bytes long_array;
  long_array.header(0, 1).str("k").u32(9).u32(4).u64(1000).zeros(16);
  CHECK(
      parse_error(long_array) ==
      "bad.gguf: key 'k': expected an array length that fits the 16 bytes left (4 bytes per uint32 "
      "at least), found 1000");

  Bytes huge_string_array;  // no allocation of 2^60 strings: the count is checked first
  huge_string_array.header(0, 1).str("k").u32(9).u32(8).u64(1ull << 60).zeros(16);
  CHECK(
      parse_error(huge_string_array) ==
      "bad.gguf: key 'k': expected an array length that fits the 16 bytes left (8 bytes per string "
      "at least), found 1152921504606846976");

  Bytes too_many;  // 2^23 + 1 bytes in the file, but more elements than the metadata may hold
  too_many.header(0, 2).str("a").u32(9).u32(0).u64(3).zeros(3);
  too_many.str("k").u32(9).u32(0).u64((1u << 23) - 2).zeros((1u << 23) - 2);
  CHECK(parse_error(too_many) ==
        "bad.gguf: key 'k': expected at most 8388608 array elements in all the metadata, found "
        "8388606 more here");

  Bytes bad_element;
  bad_element.header(0, 1).str("k").u32(9).u32(8).u64(2).str("ok").u64(50).zeros(3);
  CHECK(parse_error(bad_element) ==
        "bad.gguf: key 'k': element #1: expected a string of 50 bytes at offset 67, found only 3 "
        "bytes "
        "left");

  Bytes deep;  // array of array of array of arrays: depth 4
  deep.header(0, 1).str("k").u32(9);
  deep.u32(9).u64(1).u32(9).u64(1).u32(9).u64(1).u32(4).u64(0);
  CHECK(parse_error(deep) ==
        "bad.gguf: key 'k': element #0: element #0: expected arrays nested at most 3 deep, found "
        "deeper nesting");
  Bytes deepest_allowed;  // depth 3 parses
  deepest_allowed.header(0, 1).str("k").u32(9);
  deepest_allowed.u32(9).u64(1).u32(9).u64(1).u32(4).u64(1).u32(5);
  CHECK(Reader::parse(deepest_allowed.data, "ok.gguf").ok());
}

TEST_CASE("general.alignment must be a uint32 power of two") {
  Bytes not_uint32;
  not_uint32.header(0, 1).str("general.alignment").u32(10).u64(32);
  CHECK(parse_error(not_uint32) ==
        "bad.gguf: key 'general.alignment': expected a uint32, found uint64");
  for (uint32_t bad : {0u, 3u, 48u}) {
    Bytes b;
    b.header(0, 1).kv_u32("general.alignment", bad);
    CHECK(parse_error(b) ==
          fmt::format("bad.gguf: key 'general.alignment': expected a power of two, found {}", bad));
  }
}

TEST_CASE("tensor infos are checked for names dimensions types and offsets") {
  Bytes truncated_name;
  truncated_name.header(1, 0).u64(100).zeros(40);
  CHECK(parse_error(truncated_name) ==
        "bad.gguf: tensor info #0: name: expected a string of 100 bytes at offset 32, found only "
        "40 bytes "
        "left");

  Bytes empty_name;
  empty_name.header(1, 0).tensor("", {8}, 0, 0).zeros(64);
  CHECK(parse_error(empty_name) ==
        "bad.gguf: tensor info #0: expected a non-empty name, found an empty string");

  Bytes duplicate;
  duplicate.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad_to(32).zeros(64);
  CHECK(parse_error(duplicate) ==
        "bad.gguf: tensor info #1 'w': expected unique tensor names, found a duplicate");

  Bytes cut_dims;
  cut_dims.header(1, 0).str("wwwwwwwwwwwwwwwwwwwwwwww").zeros(2);
  CHECK(parse_error(cut_dims) ==
        "bad.gguf: tensor info #0 'wwwwwwwwwwwwwwwwwwwwwwww': dimension count: expected 4 more "
        "bytes at "
        "offset 56, found only 2 (file truncated)");

  for (uint32_t dims : {0u, 5u}) {
    Bytes b;
    b.header(1, 0).str("w").u32(dims).zeros(64);
    CHECK(parse_error(b) ==
          fmt::format("bad.gguf: tensor info #0 'w': expected 1..4 dimensions, found {}", dims));
  }

  Bytes short_shape;
  short_shape.header(1, 0).str("wwwwwwwwww").u32(2).u64(8).zeros(4);
  CHECK(parse_error(short_shape) ==
        "bad.gguf: tensor info #0 'wwwwwwwwww': shape: expected 8 more bytes at offset 54, found "
        "only 4 "
        "(file truncated)");

  CHECK(parse_error(one_tensor_file(0, {8, 0})) ==
        "bad.gguf: tensor info #0 'w': expected dimension 1 in 1..2^63-1, found 0");
  CHECK(
      parse_error(one_tensor_file(0, {1ull << 63})) ==
      "bad.gguf: tensor info #0 'w': expected dimension 0 in 1..2^63-1, found 9223372036854775808");
  CHECK(parse_error(one_tensor_file(0, {1ull << 32, 1ull << 31})) ==
        "bad.gguf: tensor info #0 'w': expected an element count below 2^63, found shape "
        "[4294967296, "
        "2147483648] (overflow)");
  CHECK(parse_error(one_tensor_file(0, {1ull << 62})) ==
        "bad.gguf: tensor info #0 'w': expected a byte size below 2^64, found shape "
        "[4611686018427387904] "
        "of F32 (overflow)");

  CHECK(parse_error(one_tensor_file(4)) ==
        "bad.gguf: tensor info #0 'w': expected a known tensor type, found type id 4");
  CHECK(parse_error(one_tensor_file(1251)) ==
        "bad.gguf: tensor info #0 'w': expected a known tensor type, found type id 1251");
  CHECK(parse_error(one_tensor_file(1250, {8})) ==
        "bad.gguf: tensor info #0 'w': expected ne[0] to be a multiple of 32 (the sherry block "
        "size), "
        "found 8");
  CHECK(parse_error(one_tensor_file(42, {32, 2})) ==
        "bad.gguf: tensor info #0 'w': expected ne[0] to be a multiple of 256 (the STQ1_0 block "
        "size), "
        "found 32");

  Bytes short_type;
  short_type.header(1, 0).str("wwwwwwwwww").u32(1).u64(8).zeros(3);
  CHECK(parse_error(short_type) ==
        "bad.gguf: tensor info #0 'wwwwwwwwww': type: expected 4 more bytes at offset 54, found "
        "only 3 "
        "(file truncated)");
  Bytes short_offset;
  short_offset.header(1, 0).str("ww").u32(1).u64(8).u32(0).zeros(7);
  CHECK(parse_error(short_offset) ==
        "bad.gguf: tensor info #0 'ww': offset: expected 8 more bytes at offset 50, found only 7 "
        "(file "
        "truncated)");

  CHECK(parse_error(one_tensor_file(0, {8}, 4)) ==
        "bad.gguf: tensor info #0 'w': expected an offset aligned to 32 bytes, found 4");
}

TEST_CASE("tensor data must lie inside the file without overlaps") {
  Bytes no_data;  // tensor infos end at 57, the data section would start at 64
  no_data.header(1, 0).tensor("w", {8}, 0, 0);
  CHECK(
      parse_error(no_data) ==
      "bad.gguf: data section: expected to start at offset 64 (aligned to 32), found a file of 57 "
      "bytes");

  CHECK(parse_error(one_tensor_file(0, {32})) ==
        "bad.gguf: tensor 'w': expected its 128 bytes at data offset 0 to lie inside the 64-byte "
        "data "
        "section, found them past its end (file truncated?)");
  CHECK(parse_error(one_tensor_file(0, {8}, 1ull << 63)) ==
        "bad.gguf: tensor 'w': expected its 32 bytes at data offset 9223372036854775808 to lie "
        "inside "
        "the 64-byte data section, found them past its end (file truncated?)");
  CHECK(parse_error(one_tensor_file(0, {8}, 64)) ==
        "bad.gguf: tensor 'w': expected its 32 bytes at data offset 64 to lie inside the 64-byte "
        "data "
        "section, found them past its end (file truncated?)");

  Bytes overlap;
  overlap.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad_to(32).zeros(96);
  CHECK(
      parse_error(overlap) ==
      "bad.gguf: tensor 'b': expected its data (offset 32) not to overlap tensor 'a' (offset 0, 64 "
      "bytes), found an overlap");

  // The same two tensors without overlap parse, in either order of their infos.
  Bytes fine;
  fine.header(2, 0).tensor("b", {8}, 0, 64).tensor("a", {16}, 0, 0).pad_to(32).zeros(96);
  auto reader = Reader::parse(fine.data, "fine.gguf");
  REQUIRE_MESSAGE(reader.ok(), reader.error().message());
  CHECK((*reader)->find_tensor("b")->offset == 64);
}

TEST_CASE("a file without tensors may end right after its metadata") {
  Bytes b;
  b.header(0, 1).kv_str("general.architecture", "llama");
  auto reader = Reader::parse(b.data, "vocab.gguf");
  REQUIRE(reader.ok());
  CHECK((*reader)->tensors().empty());
  CHECK((*reader)->get_string("general.architecture").value() == "llama");
}

TEST_CASE("a file on disk shorter than the header is rejected before mapping") {
  testing::TempPath path("tiny.gguf");
  testing::write_file(path.str(), {'G', 'G', 'U', 'F'});
  CHECK(Reader::open(path.str()).error().message() ==
        path.str() + ": header: expected at least 24 bytes, found a file of 4 bytes");
  testing::write_file(path.str(), {});
  CHECK(Reader::open(path.str()).error().message() ==
        path.str() + ": header: expected at least 24 bytes, found a file of 0 bytes");
}

}  // namespace
}  // namespace sherry::gguf
