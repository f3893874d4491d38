#include "core/ternary_code.h"

#include <set>
#include <string>

#include <doctest/doctest.h>

namespace sherry {
namespace {

// All blocks of {-2..2}^4, in lexicographic order.
template <class F>
void for_each_block_in_range(F&& f) {
  for (int a = -2; a <= 2; ++a)
    for (int b = -2; b <= 2; ++b)
      for (int c = -2; c <= 2; ++c)
        for (int d = -2; d <= 2; ++d)
          f(TernaryBlock{static_cast<int8_t>(a), static_cast<int8_t>(b), static_cast<int8_t>(c),
                         static_cast<int8_t>(d)});
}

bool is_valid(const TernaryBlock& block) {
  int zeros = 0;
  for (const int8_t v : block) {
    if (v < -1 || v > 1) return false;
    zeros += v == 0;
  }
  return zeros == 1;
}

// The code written straight from docs/format.md §1, independent of the library's encoder.
int design_code(const TernaryBlock& t) {
  int z = 0;
  while (t[z] != 0) ++z;
  int n[3];
  for (int p = 0, i = 0; p < 4; ++p)
    if (p != z) n[i++] = p;
  const int s = t[n[0]] == -1;
  const int slot = 4 * z + (t[n[1]] != t[n[0]]) + 2 * (t[n[2]] != t[n[0]]);
  return (s << 4) | slot;
}

TEST_CASE("the 32 codes and the 32 valid blocks are a bijection") {
  std::set<TernaryBlock> decoded;
  for (int code = 0; code < kCodeCount; ++code) {
    const TernaryBlock block = decode_ternary_code(static_cast<uint8_t>(code));
    CHECK(is_valid(block));
    decoded.insert(block);
    const Result<uint8_t> encoded = encode_ternary_block(block);
    REQUIRE(encoded.ok());
    CHECK(encoded.value() == code);
  }
  CHECK(decoded.size() == kCodeCount);

  int valid = 0;
  for_each_block_in_range([&](const TernaryBlock& block) {
    if (!is_valid(block)) return;
    ++valid;
    const Result<uint8_t> encoded = encode_ternary_block(block);
    REQUIRE(encoded.ok());
    CHECK(encoded.value() == design_code(block));
    CHECK(decode_ternary_code(encoded.value()) == block);
  });
  CHECK(valid == kCodeCount);
}

TEST_CASE("the sign 1 half of the code is the negation of the sign 0 half") {
  for (uint8_t slot = 0; slot < kSlotCount; ++slot) {
    const TernaryBlock positive = decode_ternary_code(make_code(0, slot));
    const TernaryBlock negative = decode_ternary_code(make_code(1, slot));
    for (int p = 0; p < kWeightsPerBlock; ++p) CHECK(negative[p] == -positive[p]);
    // The first non-zero lane of the sign 0 half is always +1.
    const int first = slot_zero_lane(slot) == 0 ? 1 : 0;
    CHECK(positive[first] == 1);
  }
}

TEST_CASE("slot_lane_value agrees with decode for every slot and lane") {
  for (uint8_t code = 0; code < kCodeCount; ++code) {
    const TernaryBlock block = decode_ternary_code(code);
    const int negate = code_sign(code) ? -1 : 1;
    for (int p = 0; p < kWeightsPerBlock; ++p) {
      CHECK(block[p] == negate * slot_lane_value(code_slot(code), p));
    }
    CHECK(block[slot_zero_lane(code_slot(code))] == 0);
    CHECK(make_code(code_sign(code), code_slot(code)) == code);
  }
}

TEST_CASE("a few codes decode to the blocks written by hand") {
  // slot 0: zero in lane 0, all others equal to the first non-zero; sign 0 → (0, 1, 1, 1).
  CHECK(decode_ternary_code(0) == TernaryBlock{0, 1, 1, 1});
  CHECK(decode_ternary_code(16) == TernaryBlock{0, -1, -1, -1});
  // slot 4·2 + 1 + 2 = 11: zero in lane 2, n1 = lane 1 and n2 = lane 3 differ from lane 0.
  CHECK(decode_ternary_code(11) == TernaryBlock{1, -1, 0, -1});
  CHECK(decode_ternary_code(27) == TernaryBlock{-1, 1, 0, 1});
  // slot 4·3 + 2 = 14: zero in lane 3, lane 2 differs.
  CHECK(decode_ternary_code(14) == TernaryBlock{1, 1, -1, 0});
}

TEST_CASE("every invalid block of -2 to 2 is rejected with a message showing it") {
  int invalid = 0;
  for_each_block_in_range([&](const TernaryBlock& block) {
    if (is_valid(block)) return;
    ++invalid;
    const Result<uint8_t> encoded = encode_ternary_block(block);
    REQUIRE_FALSE(encoded.ok());
    const std::string& message = encoded.error().message();
    const std::string shown = fmt::format("invalid ternary block ({}, {}, {}, {})", block[0],
                                          block[1], block[2], block[3]);
    CHECK(message.find(shown) == 0);
    bool out_of_range = false;
    for (const int8_t v : block) out_of_range |= v < -1 || v > 1;
    if (out_of_range) {
      CHECK(message.find("expected values in {-1, 0, 1}") != std::string::npos);
    } else {
      CHECK(message.find("expected exactly one zero and three ±1") != std::string::npos);
    }
  });
  CHECK(invalid == 625 - kCodeCount);
}

TEST_CASE("encode messages name the zero count or the bad value and its lane") {
  const Result<uint8_t> two_zeros = encode_ternary_block({1, 0, 0, -1});
  REQUIRE_FALSE(two_zeros.ok());
  CHECK(
      two_zeros.error().message() ==
      "invalid ternary block (1, 0, 0, -1): expected exactly one zero and three ±1, found 2 zeros");
  const Result<uint8_t> no_zero = encode_ternary_block({1, 1, -1, 1});
  REQUIRE_FALSE(no_zero.ok());
  CHECK(
      no_zero.error().message() ==
      "invalid ternary block (1, 1, -1, 1): expected exactly one zero and three ±1, found 0 zeros");
  const Result<uint8_t> bad_value = encode_ternary_block({1, 0, 2, 1});
  REQUIRE_FALSE(bad_value.ok());
  CHECK(bad_value.error().message() ==
        "invalid ternary block (1, 0, 2, 1): expected values in {-1, 0, 1}, found 2 at lane 2");
}

TEST_CASE("decode matches the 32 entry table of docs/format.md") {
  // Copied from the table in docs/format.md section 1 (lanes 0 to 3 of codes 0 to 31).
  const TernaryBlock table[kCodeCount] = {
      {0, 1, 1, 1},    {0, 1, -1, 1},   {0, 1, 1, -1},  {0, 1, -1, -1},  {1, 0, 1, 1},
      {1, 0, -1, 1},   {1, 0, 1, -1},   {1, 0, -1, -1}, {1, 1, 0, 1},    {1, -1, 0, 1},
      {1, 1, 0, -1},   {1, -1, 0, -1},  {1, 1, 1, 0},   {1, -1, 1, 0},   {1, 1, -1, 0},
      {1, -1, -1, 0},  {0, -1, -1, -1}, {0, -1, 1, -1}, {0, -1, -1, 1},  {0, -1, 1, 1},
      {-1, 0, -1, -1}, {-1, 0, 1, -1},  {-1, 0, -1, 1}, {-1, 0, 1, 1},   {-1, -1, 0, -1},
      {-1, 1, 0, -1},  {-1, -1, 0, 1},  {-1, 1, 0, 1},  {-1, -1, -1, 0}, {-1, 1, -1, 0},
      {-1, -1, 1, 0},  {-1, 1, 1, 0}};
  for (uint8_t code = 0; code < kCodeCount; ++code) {
    CAPTURE(int(code));
    CHECK(decode_ternary_code(code) == table[code]);
  }
}

}  // namespace
}  // namespace sherry
