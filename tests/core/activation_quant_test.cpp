#include "core/activation_quant.h"

#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "tests/core/test_util.h"

namespace sherry {
namespace {

TEST_CASE("halfway steps round to even") {
  // amax 127: inv = 1 exactly, so q = round_half_even(x).
  const std::vector<float> x = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, -126.5f};
  std::vector<int8_t> q(x.size());
  CHECK(quantize_token_i8(x.data(), static_cast<int64_t>(x.size()), q.data()) == 1.0f);
  CHECK(q == std::vector<int8_t>{127, 0, 2, 2, 0, -2, -2, 4, -126});
  // amax 254: inv = 0.5, x = 1 3 5 7 land on 0.5 1.5 2.5 3.5.
  const std::vector<float> y = {1.0f, 3.0f, 5.0f, 7.0f, -3.0f, -254.0f, 2.9f};
  q.resize(y.size());
  CHECK(quantize_token_i8(y.data(), static_cast<int64_t>(y.size()), q.data()) == 2.0f);
  CHECK(q == std::vector<int8_t>{0, 2, 2, 4, -2, -127, 1});
}

TEST_CASE("an all zero token quantizes to zeros with scale zero") {
  const std::vector<float> x = {0.0f, -0.0f, 0.0f};
  std::vector<int8_t> q = {5, 5, 5};
  CHECK(quantize_token_i8(x.data(), 3, q.data()) == 0.0f);
  CHECK(q == std::vector<int8_t>{0, 0, 0});
}

TEST_CASE("the largest magnitude maps to 127 and nothing leaves the clamp range") {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    // Scales from tiny to huge so that amax · (127 / amax) lands on either side of 127.
    const float spread = std::ldexp(1.0f, static_cast<int>(seed % 60) - 30);
    std::vector<float> x = test::random_floats(67, seed, spread);
    std::vector<int8_t> q(x.size());
    const float scale = quantize_token_i8(x.data(), 67, q.data());
    float amax = 0;
    size_t at = 0;
    for (size_t k = 0; k < x.size(); ++k) {
      if (std::fabs(x[k]) > amax) {
        amax = std::fabs(x[k]);
        at = k;
      }
    }
    CHECK(scale == amax / 127.0f);
    CHECK(q[at] == (x[at] < 0 ? -127 : 127));
    for (size_t k = 0; k < x.size(); ++k) {
      CHECK(q[k] >= -127);
      CHECK(q[k] <= 127);
      // Within half a step of the exact value (plus float slack).
      const double exact = static_cast<double>(x[k]) * 127.0 / amax;
      CHECK(std::fabs(q[k] - exact) <= 0.5 + 1e-4);
    }
  }
}

TEST_CASE("quantize_activations_i8 quantizes each token on its own") {
  const std::vector<float> x = {1.0f, -2.0f, 0.5f, 0.0f, 0.0f, 0.0f, 10.0f, 5.0f, -2.5f};
  const QuantizedActivations q = quantize_activations_i8(x.data(), 3, 3);
  CHECK(q.tokens == 3);
  CHECK(q.cols == 3);
  CHECK(q.scales == std::vector<float>{2.0f / 127.0f, 0.0f, 10.0f / 127.0f});
  // Token 0: inv = 63.5 → 63.5 (tie → 64), -127, 31.75 → 32.
  CHECK(std::vector<int8_t>(q.token(0), q.token(0) + 3) == std::vector<int8_t>{64, -127, 32});
  CHECK(std::vector<int8_t>(q.token(1), q.token(1) + 3) == std::vector<int8_t>{0, 0, 0});
  // Token 2: inv = 12.7 → 127, 63.5 (tie → 64), -31.75 → -32.
  CHECK(std::vector<int8_t>(q.token(2), q.token(2) + 3) == std::vector<int8_t>{127, 64, -32});
}

}  // namespace
}  // namespace sherry
