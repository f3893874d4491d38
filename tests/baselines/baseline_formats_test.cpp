#include <cmath>
#include <random>
#include <set>

#include <doctest/doctest.h>

#include "baselines/i2s_format.h"
#include "baselines/ternary_reference.h"
#include "baselines/tl2_format.h"
#include "core/ternary_absmean.h"
#include "tests/core/test_util.h"

namespace sherry {
namespace {

TernaryMatrix random_ternary(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  TernaryMatrix m{rows, cols, 0.5f, std::vector<int8_t>(static_cast<size_t>(rows * cols))};
  for (int8_t& v : m.values) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
  return m;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr int64_t kColumns[] = {1, 2, 3, 4, 5, 31, 32, 33, 127, 128, 129, 255, 300, 385};

TEST_CASE("AbsMean rounds half to even and clamps to one") {
  const std::vector<float> w = {1.0f, -1.0f, 3.0f, -3.0f, 0.75f, -0.25f};  // mean |w| = 1.5
  const TernaryMatrix m = absmean_ternarize(w.data(), 2, 3).value();
  CHECK(m.alpha == 1.5f);
  // w / α = 0.667 -0.667 2 -2 0.5 -0.167
  CHECK(m.values == std::vector<int8_t>{1, -1, 1, -1, 0, 0});
  const std::vector<float> ties = {1.0f, -1.0f, 3.0f, -3.0f};  // α = 2: ±0.5 → 0, ±1.5 → ±2 → ±1
  CHECK(absmean_ternarize(ties.data(), 1, 4).value().values == std::vector<int8_t>{0, 0, 1, -1});
}

TEST_CASE("AbsMean of an all zero matrix is all zeros with alpha zero") {
  const std::vector<float> w(12, 0.0f);
  const TernaryMatrix m = absmean_ternarize(w.data(), 3, 4).value();
  CHECK(m.alpha == 0.0f);
  CHECK(m.values == std::vector<int8_t>(12, 0));
}

TEST_CASE("AbsMean rejects a non finite weight and a bad shape by name") {
  std::vector<float> w(8, 1.0f);
  w[6] = std::nanf("");
  Result<TernaryMatrix> bad = absmean_ternarize(w.data(), 2, 4, "blk.0.ffn_up.weight");
  REQUIRE_FALSE(bad.ok());
  CHECK(
      contains(bad.error().message(), "blk.0.ffn_up.weight: weight (row 1, col 2) must be finite"));
  Result<TernaryMatrix> shape = absmean_ternarize(w.data(), 0, 4, "m");
  REQUIRE_FALSE(shape.ok());
  CHECK(contains(shape.error().message(), "m: AbsMean needs a positive shape, found 0 x 4"));
}

TEST_CASE("ternary matrices given directly are validated") {
  TernaryMatrix m = random_ternary(2, 5, 1);
  CHECK(validate_ternary(m).ok());
  m.values[7] = 2;
  Status value = validate_ternary(m, "w");
  REQUIRE_FALSE(value.ok());
  CHECK(contains(value.error().message(), "w: weight (row 1, col 2) must be -1, 0 or +1, found 2"));
  m.values.pop_back();
  Status size = validate_ternary(m, "w");
  REQUIRE_FALSE(size.ok());
  CHECK(contains(size.error().message(), "w: expected 2 x 5 = 10 ternary values, found 9"));
  TernaryMatrix alpha = random_ternary(1, 3, 2);
  alpha.alpha = -1.0f;
  Status negative = validate_ternary(alpha, "w");
  REQUIRE_FALSE(negative.ok());
  CHECK(contains(negative.error().message(), "w: α must be finite and non-negative, found -1"));
  TernaryMatrix empty;
  Status shape = validate_ternary(empty, "w");
  REQUIRE_FALSE(shape.ok());
  CHECK(contains(shape.error().message(), "w: ternary matrix needs a positive shape, found 0 x 0"));
}

TEST_CASE("I2_S places column j plus 32i of a block in bits 6 minus 2i of byte j") {
  TernaryMatrix m{1, 130, 1.0f, std::vector<int8_t>(130, 0)};
  m.values[0] = 1;     // byte 0, bits 6-7: stored 2
  m.values[32] = -1;   // byte 0, bits 4-5: stored 0
  m.values[97] = 1;    // byte 1, bits 0-1: stored 2
  m.values[129] = -1;  // second block, byte 1, bits 6-7: stored 0
  const I2sTensor w = pack_i2s(m).value();
  REQUIRE(w.data.size() == 64);
  CHECK(w.data[0] == 0x85);   // 10 00 01 01
  CHECK(w.data[1] == 0x56);   // 01 01 01 10
  CHECK(w.data[33] == 0x15);  // 00 01 01 01
  for (size_t i = 2; i < 64; ++i) {
    if (i != 33) CHECK(w.data[i] == 0x55);  // t = 0 everywhere else, padding included
  }
}

TEST_CASE("I2_S packing round trips every value at every position") {
  for (const int64_t cols : kColumns) {
    for (uint32_t seed = 0; seed < 3; ++seed) {
      const TernaryMatrix m = random_ternary(3, cols, seed * 100 + static_cast<uint32_t>(cols));
      const I2sTensor w = pack_i2s(m).value();
      CHECK(w.data.size() == static_cast<size_t>(3 * i2s_row_bytes(cols)));
      const TernaryMatrix back = unpack_i2s(w);
      CHECK(back.values == m.values);
      CHECK(back.alpha == m.alpha);
    }
  }
  // Each of the 3 values at each of the 128 positions of a block, alone among zeros.
  for (int value = -1; value <= 1; ++value) {
    for (int64_t c = 0; c < 128; ++c) {
      TernaryMatrix m{1, 128, 1.0f, std::vector<int8_t>(128, 0)};
      m.values[c] = static_cast<int8_t>(value);
      CHECK(unpack_i2s(pack_i2s(m).value()).values == m.values);
    }
  }
}

TEST_CASE("I2_S stores two bits per weight plus one alpha") {
  const I2sTensor w = pack_i2s(random_ternary(4, 256, 3)).value();
  CHECK(w.storage_bytes() == 4 * 64 + 4);
  CHECK(w.bits_per_weight() == doctest::Approx(2.0 + 32.0 / 1024.0));
}

TEST_CASE("I2_S and TL2 packing reject a non ternary value by name") {
  TernaryMatrix m = random_ternary(2, 4, 4);
  m.values[5] = -3;
  Result<I2sTensor> i2s = pack_i2s(m, "blk.1.attn_k.weight");
  REQUIRE_FALSE(i2s.ok());
  CHECK(contains(i2s.error().message(),
                 "blk.1.attn_k.weight: weight (row 1, col 1) must be -1, 0 or +1, found -3"));
  Result<Tl2Tensor> tl2 = pack_tl2(m, "blk.1.attn_k.weight");
  REQUIRE_FALSE(tl2.ok());
  CHECK(contains(tl2.error().message(), "blk.1.attn_k.weight: weight (row 1, col 1)"));
}

TEST_CASE("TL2 codes cover all 27 patterns with a sign and 14 indices") {
  std::set<uint8_t> codes;
  for (int v = 0; v < 27; ++v) {
    const Tl2Group g{static_cast<int8_t>(v / 9 - 1), static_cast<int8_t>(v / 3 % 3 - 1),
                     static_cast<int8_t>(v % 3 - 1)};
    const uint8_t code = tl2_encode_group(g);
    CHECK((code & 0x0F) < kTl2IndexCount);
    CHECK(code < 32);
    CHECK(tl2_decode_code(code) == g);
    codes.insert(code);
    // Mirror symmetry: the negated pattern flips only the sign (zero keeps sign 0).
    const Tl2Group neg{static_cast<int8_t>(-g[0]), static_cast<int8_t>(-g[1]),
                       static_cast<int8_t>(-g[2])};
    if (v != 13) CHECK(tl2_encode_group(neg) == (code ^ 0x10));
    // The table coefficients of the index give the pattern up to the sign.
    const int sign = code >> 4 ? -1 : 1;
    for (int p = 0; p < 3; ++p) CHECK(sign * tl2_lane_value(code & 0x0F, p) == g[p]);
  }
  CHECK(codes.size() == 27);
  CHECK(tl2_encode_group({0, 0, 0}) == 0);
  for (int p = 0; p < 3; ++p) {
    CHECK(tl2_lane_value(14, p) == 0);
    CHECK(tl2_lane_value(15, p) == 0);
  }
}

TEST_CASE("TL2 packs index nibbles then sign bits per row") {
  // Group 0 = (1, 0, -1): v = 21, sign 0, index 8. Group 1 = (-1, -1, -1): v = 0, sign 1, index 13.
  TernaryMatrix m{1, 6, 1.0f, {1, 0, -1, -1, -1, -1}};
  const Tl2Tensor w = pack_tl2(m).value();
  REQUIRE(w.data.size() == 2);
  CHECK(w.data[0] == 0xD8);
  CHECK(w.data[1] == 0x02);
  CHECK(w.code(0, 0) == 8);
  CHECK(w.code(0, 1) == (0x10 | 13));
}

TEST_CASE("TL2 packing round trips every shape including padded groups") {
  for (const int64_t cols : kColumns) {
    for (uint32_t seed = 0; seed < 3; ++seed) {
      const TernaryMatrix m = random_ternary(3, cols, seed * 31 + static_cast<uint32_t>(cols));
      const Tl2Tensor w = pack_tl2(m).value();
      CHECK(w.data.size() == static_cast<size_t>(3 * tl2_row_bytes(cols)));
      CHECK(unpack_tl2(w).values == m.values);
    }
  }
}

TEST_CASE("TL2 stores five bits per three weights plus one alpha") {
  const Tl2Tensor w = pack_tl2(random_ternary(2, 2400, 5)).value();  // 800 groups per row
  CHECK(w.storage_bytes() == 2 * (400 + 100) + 4);
  CHECK(w.bits_per_weight() == doctest::Approx(5.0 / 3.0 + 32.0 / 4800.0));
}

TEST_CASE("quantize then unpack gives the AbsMean ternary matrix for both formats") {
  const std::vector<float> x = test::random_floats(5 * 77, 6);
  const TernaryMatrix m = absmean_ternarize(x.data(), 5, 77).value();
  CHECK(unpack_i2s(quantize_i2s(x.data(), 5, 77).value()).values == m.values);
  CHECK(unpack_tl2(quantize_tl2(x.data(), 5, 77).value()).values == m.values);
  Result<I2sTensor> bad = quantize_i2s(x.data(), -1, 77, "q");
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(), "q: AbsMean needs a positive shape"));
}

TEST_CASE("the ternary reference accumulates exactly and scales in the documented order") {
  TernaryMatrix w{2, 3, 0.5f, {1, 0, -1, -1, -1, 1}};
  QuantizedActivations x;
  x.tokens = 2;
  x.cols = 3;
  x.values = {127, -5, 3, -127, 127, 127};
  x.scales = {0.25f, 2.0f};
  std::vector<int32_t> acc(4);
  ternary_accumulate_i32(w, x, acc.data());
  CHECK(acc == std::vector<int32_t>{124, -119, -254, 127});
  std::vector<float> y(4);
  ternary_scale_accumulators(w, x, acc.data(), y.data());
  CHECK(y == std::vector<float>{15.5f, -14.875f, -254.0f, 127.0f});
}

TEST_CASE("the integer reference stays within the activation rounding of the float reference") {
  for (const int64_t cols : {7, 128, 1000}) {
    const TernaryMatrix w = random_ternary(9, cols, 7);
    const std::vector<float> x = test::random_floats(3 * cols, 8);
    std::vector<float> exact(27), quantized(27);
    ternary_gemm_f32(w, x.data(), 3, exact.data());
    ternary_gemm_i8(w, x.data(), 3, quantized.data());
    for (int64_t t = 0; t < 3; ++t) {
      float amax = 0.0f;
      for (int64_t k = 0; k < cols; ++k) amax = std::fmax(amax, std::fabs(x[t * cols + k]));
      // Each activation is off by at most half a quantization step; then fp32 rounding.
      const double bound = w.alpha * cols * (amax / 127.0) / 2.0 * 1.001 + 1e-5;
      for (int64_t m = 0; m < 9; ++m) {
        CHECK(std::fabs(exact[t * 9 + m] - quantized[t * 9 + m]) <= bound);
      }
    }
  }
}

}  // namespace
}  // namespace sherry
