#include "core/half.h"

#include <bit>
#include <cmath>
#include <initializer_list>
#include <limits>

#include <doctest/doctest.h>

namespace sherry {
namespace {

bool is_fp16_nan(uint16_t bits) {
  return (bits & 0x7C00) == 0x7C00 && (bits & 0x3FF) != 0;
}

// Independent oracle: the representable fp16 value nearest to x, ties to even mantissa,
// by searching the monotone list of finite positive fp16 values.
uint16_t nearest_fp16_oracle(float x) {
  const bool negative = std::signbit(x);
  const double a = std::fabs(static_cast<double>(x));
  // 65520 = halfway between 65504 and the next step 65536: ties to even go to Inf.
  if (a >= 65520.0) return negative ? 0xFC00 : 0x7C00;
  uint16_t best = 0;
  double best_error = a;
  for (uint16_t h = 1; h < 0x7C00; ++h) {
    const double v = fp16_to_float(h);
    const double error = std::fabs(v - a);
    if (error < best_error || (error == best_error && (h & 1) == 0 && (best & 1) == 1)) {
      best = h;
      best_error = error;
    }
    if (v > a) break;
  }
  return static_cast<uint16_t>(best | (negative ? 0x8000 : 0));
}

TEST_CASE("fp16 decodes hand picked bit patterns") {
  CHECK(fp16_to_float(0x0000) == 0.0f);
  CHECK(std::signbit(fp16_to_float(0x8000)));
  CHECK(fp16_to_float(0x3C00) == 1.0f);
  CHECK(fp16_to_float(0xC000) == -2.0f);
  CHECK(fp16_to_float(0x3555) == 0.333251953125f);
  CHECK(fp16_to_float(0x7BFF) == 65504.0f);
  CHECK(fp16_to_float(0x0400) == std::ldexp(1.0f, -14));     // smallest normal
  CHECK(fp16_to_float(0x0001) == std::ldexp(1.0f, -24));     // smallest subnormal
  CHECK(fp16_to_float(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(fp16_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(fp16_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(fp16_to_float(0x7E00)));
  CHECK(std::isnan(fp16_to_float(0x7C01)));
}

TEST_CASE("fp16 encodes hand picked values with round to nearest even") {
  CHECK(float_to_fp16(1.0f) == 0x3C00);
  CHECK(float_to_fp16(-2.0f) == 0xC000);
  CHECK(float_to_fp16(-0.0f) == 0x8000);
  CHECK(float_to_fp16(65504.0f) == 0x7BFF);
  CHECK(float_to_fp16(65519.996f) == 0x7BFF);  // just below the halfway point to 65536
  CHECK(float_to_fp16(65520.0f) == 0x7C00);    // halfway: ties to even overflow to Inf
  CHECK(float_to_fp16(1e10f) == 0x7C00);
  CHECK(float_to_fp16(-1e10f) == 0xFC00);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
  CHECK(float_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);
  // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  CHECK(float_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  CHECK(float_to_fp16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)) == 0x3C01);
  // Subnormals: 2^-25 is half the smallest subnormal and ties to 0; just above rounds up.
  CHECK(float_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);
  CHECK(float_to_fp16(std::ldexp(1.0f, -25) * 1.0001f) == 0x0001);
  CHECK(float_to_fp16(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 units ties to even 2
  CHECK(float_to_fp16(std::ldexp(5.0f, -25)) == 0x0002);  // 2.5 units ties to even 2
  CHECK(float_to_fp16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)) == 0x0400);  // up to normal
  CHECK(float_to_fp16(1e-30f) == 0x0000);
  CHECK(float_to_fp16(-1e-30f) == 0x8000);
  CHECK(float_to_fp16(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(float_to_fp16(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(float_to_fp16(-std::numeric_limits<float>::infinity()) == 0xFC00);
  CHECK(is_fp16_nan(float_to_fp16(std::numeric_limits<float>::quiet_NaN())));
  // A float NaN whose payload lives only in the low bits must stay a NaN, not become Inf.
  CHECK(is_fp16_nan(float_to_fp16(std::bit_cast<float>(0x7F800001u))));
}

TEST_CASE("fp16 round trips all 65536 bit patterns") {
  int failures = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    if (float_to_fp16(fp16_to_float(bits)) != bits) ++failures;
  }
  CHECK(failures == 0);
}

TEST_CASE("fp16 rounding matches a nearest value search on every midpoint and neighbour") {
  // For every pair of adjacent finite fp16 values, the midpoint and the floats just around it.
  int failures = 0;
  for (uint32_t h = 0; h < 0x7BFF; ++h) {
    const double low = fp16_to_float(static_cast<uint16_t>(h));
    const double high = fp16_to_float(static_cast<uint16_t>(h + 1));
    const auto mid = static_cast<float>((low + high) / 2);  // exact in float
    for (const float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      const auto up = static_cast<uint16_t>(h + 1);
      const auto down = static_cast<uint16_t>(h);
      const uint16_t expected = x < mid ? down : x > mid ? up : ((h & 1) ? up : down);
      if (float_to_fp16(x) != expected) ++failures;
      if (float_to_fp16(-x) != (expected | 0x8000)) ++failures;
    }
  }
  CHECK(failures == 0);
  // The oracle search agrees on a spread of values across the range.
  for (float x = 1e-9f; x < 70000.0f; x *= 1.37f) {
    CHECK(float_to_fp16(x) == nearest_fp16_oracle(x));
    CHECK(float_to_fp16(-x) == nearest_fp16_oracle(-x));
  }
}

TEST_CASE("bf16 round trips all 65536 bit patterns and rounds to nearest even") {
  int failures = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    if (float_to_bf16(bf16_to_float(bits)) != bits) ++failures;
  }
  CHECK(failures == 0);
  CHECK(float_to_bf16(1.0f) == 0x3F80);
  CHECK(bf16_to_float(0x3F80) == 1.0f);
  CHECK(float_to_bf16(-2.0f) == 0xC000);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0); 1 + 3·2^-8 ties up.
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);
  CHECK(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3F81);
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds up to Inf
  CHECK(float_to_bf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
  const uint16_t nan = float_to_bf16(std::bit_cast<float>(0x7F800001u));
  CHECK(std::isnan(bf16_to_float(nan)));
  CHECK(float_to_bf16(std::numeric_limits<float>::denorm_min()) == 0x0000);
}

TEST_CASE("round_to_fp16 gives the nearest fp16 value as a float") {
  CHECK(round_to_fp16(0.1f) == fp16_to_float(0x2E66));
  CHECK(round_to_fp16(1.0f) == 1.0f);
}

}  // namespace
}  // namespace sherry
