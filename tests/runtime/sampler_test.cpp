// The sampling chain on hand-made logits.
#include <cmath>
#include <set>

#include <doctest/doctest.h>

#include "runtime/rope.h"
#include "runtime/sampler.h"

namespace sherry::runtime {
namespace {

SamplerOptions plain(float temperature) {
  SamplerOptions o;
  o.temperature = temperature;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.repeat_penalty = 1.0f;
  o.seed = 42;
  return o;
}

TEST_CASE("temperature zero picks the arg max and the repeat penalty can move it") {
  const std::vector<float> logits = {0.5f, 2.0f, 1.9f, -1.0f};
  Sampler greedy(plain(0.0f), 4);
  CHECK(greedy.sample(logits, {}) == 1);
  SamplerOptions penalized = plain(0.0f);
  penalized.repeat_penalty = 1.2f;  // 2.0 / 1.2 < 1.9
  Sampler sampler(penalized, 4);
  CHECK(sampler.sample(logits, std::vector<int32_t>{1}) == 2);
  CHECK(sampler.sample(logits, std::vector<int32_t>{3}) == 1);  // negative logits get multiplied
  penalized.repeat_last_n = 1;                                  // token 1 is outside the window
  Sampler windowed(penalized, 4);
  CHECK(windowed.sample(logits, std::vector<int32_t>{1, 0}) == 1);
}

TEST_CASE("top k of one and a strict min p leave only the best token") {
  const std::vector<float> logits = {0.0f, 3.0f, 2.5f, 1.0f};
  SamplerOptions top1 = plain(1.5f);
  top1.top_k = 1;
  Sampler a(top1, 4);
  SamplerOptions strict = plain(1.5f);
  strict.min_p = 0.9f;  // e^-0.5 ≈ 0.61 < 0.9
  Sampler b(strict, 4);
  for (int i = 0; i < 50; ++i) {
    CHECK(a.sample(logits, {}) == 1);
    CHECK(b.sample(logits, {}) == 1);
  }
}

TEST_CASE("top p keeps the smallest set reaching the mass") {
  const std::vector<float> logits = {1.0f, 1.0f, 1.0f, 1.0f};  // 0.25 each
  SamplerOptions o = plain(1.0f);
  o.top_p = 0.5f;
  Sampler sampler(o, 4);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(sampler.sample(logits, {}));
  CHECK(seen == std::set<int32_t>{0, 1});
}

TEST_CASE("draws follow the softmax of the logits over the temperature") {
  const std::vector<float> logits = {0.0f, std::log(3.0f)};
  Sampler sampler(plain(1.0f), 2);
  int ones = 0;
  const int draws = 8000;
  for (int i = 0; i < draws; ++i) ones += sampler.sample(logits, {}) == 1;
  CHECK(std::fabs(ones / static_cast<double>(draws) - 0.75) < 0.02);
  // Temperature 2 flattens: p1 = √3 / (1 + √3) ≈ 0.634.
  Sampler warm(plain(2.0f), 2);
  ones = 0;
  for (int i = 0; i < draws; ++i) ones += warm.sample(logits, {}) == 1;
  CHECK(std::fabs(ones / static_cast<double>(draws) - std::sqrt(3.0) / (1 + std::sqrt(3.0))) <
        0.02);
}

TEST_CASE("the same seed gives the same draws") {
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i) logits[i] = std::sin(static_cast<float>(i));
  SamplerOptions o = plain(1.0f);
  o.top_k = 30;
  Sampler a(o, 100), b(o, 100);
  for (int i = 0; i < 20; ++i) CHECK(a.sample(logits, {}) == b.sample(logits, {}));
}

TEST_CASE("llama 3 rope factors keep high frequencies and divide low ones by the factor") {
  RopeConfig rope;  // Llama 3.1: base 500000, 128 dims, factor 8, low 1, high 4, 8192 original
  rope.dims = 128;
  rope.freq_base = 500000.0f;
  rope.scaling = RopeScaling::kLlama3;
  rope.factor = 8.0f;
  rope.original_context = 8192;
  const auto f = llama3_rope_factors(rope);
  REQUIRE(f.size() == 64);
  CHECK(f[0] == 1.0f);   // wavelength 2π: far below 8192 / 4
  CHECK(f[63] == 8.0f);  // wavelength ≈ 2π · 500000^(126/128): far above 8192
  for (size_t i = 1; i < f.size(); ++i) CHECK(f[i] >= f[i - 1]);
  // Pair 30: wavelength 2π · 500000^(60/128) ≈ 2948 lies between 8192/4 and 8192: smoothed.
  const double wavelen = 2 * M_PI * std::pow(500000.0, 60.0 / 128.0);
  const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
  CHECK(f[30] == doctest::Approx(1.0 / ((1 - smooth) / 8.0 + smooth)).epsilon(1e-5));
  CHECK(f[30] > 1.0f);
  CHECK(f[30] < 8.0f);
  const auto theta = rope_frequencies(rope);
  CHECK(theta[63] == doctest::Approx(std::pow(500000.0, -126.0 / 128.0) / 8.0).epsilon(1e-5));
}

}  // namespace
}  // namespace sherry::runtime
