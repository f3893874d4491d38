// The baseline layers on every ISA path this machine runs (capped through set_max_isa) against
// baselines/ternary_reference.h: int32 accumulators bit-exactly, float outputs within a tolerance
// derived from K.
#include <cmath>
#include <random>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "baselines/baseline_linear.h"
#include "baselines/i2s_kernel.h"
#include "baselines/ternary_reference.h"
#include "jit/paths.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

enum class Format { kI2s, kTl2 };

TernaryMatrix random_ternary(int64_t rows, int64_t cols, uint32_t seed, int bias = 0) {
  std::mt19937 rng(seed);
  TernaryMatrix m{rows, cols, 0.03f + 0.01f * (seed % 7),
                  std::vector<int8_t>(static_cast<size_t>(rows * cols))};
  for (int8_t& v : m.values) {
    v = bias != 0 ? static_cast<int8_t>(bias)
                  : static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
  }
  return m;
}

Result<std::unique_ptr<Linear>> make_layer(Format format, const TernaryMatrix& m,
                                           const LinearOptions& options,
                                           const ir::Tuning& tuning = {}) {
  if (format == Format::kI2s) return make_i2s_linear(pack_i2s(m).value(), options, tuning);
  return make_tl2_linear(pack_tl2(m).value(), options, tuning);
}

// Checks one layer against the reference on x; `what` goes into failure messages.
void check_layer(Linear& layer, const TernaryMatrix& m, const QuantizedActivations& x,
                 const std::string& what) {
  INFO(what, " kernel ", layer.kernel_name());
  std::vector<int32_t> want(static_cast<size_t>(x.tokens * m.rows));
  std::vector<int32_t> got(want.size(), -1);
  ternary_accumulate_i32(m, x, want.data());
  layer.forward_accumulators(x, got.data());
  CHECK(got == want);
  std::vector<float> want_y(want.size()), got_y(want.size());
  ternary_scale_accumulators(m, x, want.data(), want_y.data());
  layer.forward_quantized(x, got_y.data());
  // Same integers; the float steps may round differently (α applied apart, FMA): a few ulps of the
  // largest possible magnitude.
  for (size_t i = 0; i < want_y.size(); ++i) {
    const float bound = 127.0f * m.cols * x.scales[i / m.rows] * m.alpha * 4e-7f + 1e-30f;
    if (std::fabs(got_y[i] - want_y[i]) > bound) {
      FAIL_CHECK("float output ", i, ": ", got_y[i], " vs reference ", want_y[i]);
      break;
    }
  }
}

// The paths to test per format: the JIT paths with a generator for it, and the path a cap
// below them falls to.
std::vector<ir::Isa> paths() {
  return test::runnable_isas();
}

ir::Isa expected_isa(Format format, ir::Isa cap) {
  if (format == Format::kI2s) return has_i2s_kernels(cap) ? cap : ir::Isa::kScalar;
  return cap;
}

TEST_CASE("baseline layers match the reference bit exactly on every ISA path and edge shape") {
  const int64_t rows[] = {1, 4, 5, 33, 70};
  const int64_t cols[] = {1, 7, 128, 131, 300, 769};
  for (const Format format : {Format::kI2s, Format::kTl2}) {
    for (const ir::Isa isa : paths()) {
      test::IsaCap cap(isa);
      uint32_t seed = 1;
      for (const int64_t m : rows) {
        for (const int64_t k : cols) {
          ++seed;
          const TernaryMatrix w = random_ternary(m, k, seed);
          LinearOptions options;
          options.max_tokens = 3;
          auto layer = make_layer(format, w, options).value();
          CHECK(layer->isa() == expected_isa(format, isa));
          for (const int64_t n : {1, 3, 4}) {
            const QuantizedActivations x = test::random_activations(n, k, seed * 7 + n);
            check_layer(*layer, w, x,
                        fmt::format("{} cap {} m {} k {} n {} seed {}",
                                    format == Format::kI2s ? "i2s" : "tl2", ir::to_string(isa), m,
                                    k, n, seed));
          }
        }
      }
    }
  }
}

TEST_CASE("baseline layers stay exact at extreme activations and long rows") {
  for (const Format format : {Format::kI2s, Format::kTl2}) {
    for (const ir::Isa isa : paths()) {
      test::IsaCap cap(isa);
      for (const int bias : {1, -1, 0}) {
        const TernaryMatrix w = random_ternary(8, 5000, 11, bias);
        auto layer = make_layer(format, w, {}).value();
        const QuantizedActivations x = test::extreme_activations(2, 5000, 12);
        check_layer(*layer, w, x, fmt::format("extreme cap {} bias {}", ir::to_string(isa), bias));
      }
    }
  }
}

TEST_CASE("baseline layers give the same results with tuned tiles and prefetch and two threads") {
  ThreadPool pool(2);
  const TernaryMatrix w = random_ternary(150, 517, 21);
  const QuantizedActivations x = test::random_activations(5, 517, 22);
  for (const ir::Isa isa : paths()) {
    test::IsaCap cap(isa);
    for (const int64_t row_tile : {4, 8, 12}) {
      if (!has_i2s_kernels(isa) || row_tile > i2s_max_n_tile(isa, 1)) continue;
      for (const int64_t prefetch : {0, 256}) {
        LinearOptions options;
        options.pool = &pool;
        auto layer = make_layer(Format::kI2s, w, options, {row_tile, prefetch}).value();
        CHECK(layer->kernel_name().find(fmt::format("_r{}", row_tile)) != std::string::npos);
        check_layer(*layer, w, x,
                    fmt::format("i2s tuned {} r{} p{}", ir::to_string(isa), row_tile, prefetch));
      }
    }
    for (const int64_t prefetch : {0, 512}) {
      LinearOptions options;
      options.pool = &pool;
      auto layer = make_layer(Format::kTl2, w, options, {0, prefetch}).value();
      check_layer(*layer, w, x, fmt::format("tl2 {} p{}", ir::to_string(isa), prefetch));
    }
  }
}

TEST_CASE("the reference backend serves both formats") {
  const TernaryMatrix w = random_ternary(9, 40, 31);
  const QuantizedActivations x = test::random_activations(2, 40, 32);
  LinearOptions options;
  options.backend = KernelBackend::kReference;
  for (const Format format : {Format::kI2s, Format::kTl2}) {
    auto layer = make_layer(format, w, options).value();
    CHECK(layer->isa() == ir::Isa::kScalar);
    check_layer(*layer, w, x, "reference");
  }
}

TEST_CASE("the stream of each format has its bits per weight") {
  const TernaryMatrix w = random_ternary(256, 3072, 41);
  auto i2s = make_layer(Format::kI2s, w, {}).value();
  auto tl2 = make_layer(Format::kTl2, w, {}).value();
  CHECK(i2s->stream_bits_per_weight() == doctest::Approx(2.0));
  const WeightFormat format = isa_path(tl2->isa()).format;
  if (format == WeightFormat::kNibblesSignMasks || format == WeightFormat::kNibblePlanes) {
    // Nibbles and sign masks or sign planes (avx512vbmi, avx512bw, avx2): 5 bits per group of 3.
    CHECK(tl2->stream_bits_per_weight() == doctest::Approx(5.0 / 3.0));
  } else if (format == WeightFormat::kCodeBytes) {
    // Code bytes (ssse3): 8 bits per group of 3.
    CHECK(tl2->stream_bits_per_weight() == doctest::Approx(8.0 / 3.0));
  }
}

TEST_CASE("I2_S kernel keys out of range are refused with the kernel name") {
  I2sKernelKey key{ir::Isa::kAvx2, 64, 256, 1, 6, 0};
  Result<I2sKernelKey> tile = resolve_i2s_key(key);
  REQUIRE_FALSE(tile.ok());
  CHECK(tile.error().message().find(
            "i2s_gemv_avx2_m64_k256_r6: row tile 6 must be a multiple of 4") != std::string::npos);
  key.row_tile = 4;
  key.n_tile = 3;
  Result<I2sKernelKey> budget = resolve_i2s_key(key);
  REQUIRE_FALSE(budget.ok());
  CHECK(budget.error().message().find("row tile x n_tile at most 8 on avx2") != std::string::npos);
  key.n_tile = 1;
  key.prefetch = -64;
  Result<I2sKernelKey> prefetch = resolve_i2s_key(key);
  REQUIRE_FALSE(prefetch.ok());
  CHECK(prefetch.error().message().find("prefetch distance -64 must be in [0, 1 MiB]") !=
        std::string::npos);
  key.prefetch = 0;
  key.isa = ir::Isa::kSsse3;
  Result<I2sKernelKey> path = resolve_i2s_key(key);
  REQUIRE_FALSE(path.ok());
  CHECK(path.error().message().find("no I2_S generator for the ssse3 path") != std::string::npos);
  key.isa = ir::Isa::kAvx2;
  key.m = 0;
  Result<I2sKernelKey> shape = resolve_i2s_key(key);
  REQUIRE_FALSE(shape.ok());
  CHECK(shape.error().message().find("m, k and n_tile must be positive") != std::string::npos);
}

}  // namespace
}  // namespace sherry::jit
