// jit::Linear on every runnable path (capped through the API) against the reference: float
// outputs within a tolerance derived from the number of scale groups, token counts 1..17,
// single- and multi-threaded.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <tuple>

#include "core/reference_kernels.h"
#include "core/thread_pool.h"
#include "ir/interpreter.h"
#include "ir/lower.h"
#include "jit/linear.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

// Checks y against the reference; the bound covers fp32 rounding of G products and sums
// in either order (with or without FMA).
void check_outputs(const PackedTensor& w, const QuantizedActivations& x, const float* y,
                   const std::string& what) {
  const PackedTensorView v = w.view();
  const int64_t groups = scale_groups_per_row(v.layout, v.cols);
  std::vector<int32_t> acc(static_cast<size_t>(x.tokens * v.rows * groups));
  reference_accumulate_i32(v, x, acc.data());
  std::vector<float> want(static_cast<size_t>(x.tokens * v.rows));
  reference_scale_accumulators(v, x, acc.data(), want.data());
  for (int64_t t = 0; t < x.tokens; ++t) {
    for (int64_t m = 0; m < v.rows; ++m) {
      double magnitude = 0.0;
      for (int64_t g = 0; g < groups; ++g) {
        magnitude +=
            std::fabs(static_cast<double>(acc[(t * v.rows + m) * groups + g]) * v.scale(m, g));
      }
      const double tolerance = 4.0 * (groups + 2) * std::ldexp(1.0, -24) * x.scales[t] * magnitude;
      const double diff = std::fabs(y[t * v.rows + m] - want[t * v.rows + m]);
      if (diff > tolerance) {
        FAIL_CHECK(what, ": token ", t, " row ", m, " got ", y[t * v.rows + m], " want ",
                   want[t * v.rows + m], " tolerance ", tolerance);
        return;
      }
    }
  }
}

TEST_CASE("linear layers match the reference on every path for 1 to 17 tokens") {
  const std::vector<WeightLayout> layouts = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
      {BlockGrouping::kStride16, ScaleGranularity::kGroup, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128},
      {BlockGrouping::kStride16, ScaleGranularity::kTensor, 128},
  };
  ThreadPool pool(2);
  std::vector<ir::Isa> isas = test::runnable_isas();
  isas.push_back(ir::Isa::kScalar);
  for (const ir::Isa isa : isas) {
    test::IsaCap cap(isa);
    uint32_t seed = 11;
    for (const WeightLayout& layout : layouts) {
      for (const auto& [m, k] : {std::pair<int64_t, int64_t>{67, 256}, {130, 384}}) {
        ++seed;
        const PackedTensor w = sherry::test::random_packed(m, k, layout, seed);
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          LinearOptions options;
          options.max_tokens = 17;
          options.pool = p;
          options.name = "blk.0.test.weight";
          Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), options);
          REQUIRE_MESSAGE(linear.ok(), linear.error().message());
          const std::string name = (*linear)->kernel_name();
          if (isa != ir::Isa::kScalar) {
            CHECK_MESSAGE(name.find(std::string(ir::to_string(isa))) != std::string::npos, name);
          }
          for (const int64_t n : {int64_t{1}, int64_t{2}, int64_t{5}, int64_t{17}}) {
            const QuantizedActivations x = test::random_activations(n, k, seed + n);
            std::vector<float> y(static_cast<size_t>(n * m), -1.0f);
            (*linear)->forward_quantized(x, y.data());
            check_outputs(w, x, y.data(), fmt::format("seed {} kernel {} n {}", seed, name, n));
          }
        }
      }
    }
  }
}

TEST_CASE("layers sharing call buffers give each its own results, bit for bit") {
  // Two shapes, so the shared buffers are grown by one layer and reused by the other between
  // calls of every token count (decode's per-thread tables, prefill's calls, the dot kernels).
  const WeightLayout layout{};
  const PackedTensor a = sherry::test::random_packed(200, 384, layout, 21);
  const PackedTensor b = sherry::test::random_packed(67, 1024, layout, 22);
  ThreadPool pool(2);
  std::vector<ir::Isa> isas = test::runnable_isas();
  for (const ir::Isa isa : isas) {
    test::IsaCap cap(isa);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      LinearOptions own;
      own.max_tokens = 17;
      own.pool = p;
      LinearOptions shared = own;
      shared.call_buffers = std::make_shared<CallBuffers>();
      auto make = [](const PackedTensor& w, const LinearOptions& options) {
        Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), options);
        REQUIRE_MESSAGE(linear.ok(), linear.error().message());
        return std::move(*linear);
      };
      const auto a_own = make(a, own), b_own = make(b, own);
      const auto a_shared = make(a, shared), b_shared = make(b, shared);
      for (const int64_t n : {int64_t{17}, int64_t{1}, int64_t{5}, int64_t{1}, int64_t{2}}) {
        for (const auto& [w, mine, theirs] : {std::tuple(&a, a_own.get(), a_shared.get()),
                                              std::tuple(&b, b_own.get(), b_shared.get())}) {
          const QuantizedActivations x = test::random_activations(n, w->cols, 30 + n);
          std::vector<float> want(static_cast<size_t>(n * w->rows));
          std::vector<float> got(want.size(), -1.0f);
          mine->forward_quantized(x, want.data());
          theirs->forward_quantized(x, got.data());
          CHECK_MESSAGE(want == got, theirs->kernel_name(), " n ", n, " threads ",
                        p == nullptr ? 1 : 2);
        }
      }
    }
  }
}

TEST_CASE("forward quantizes per token like the reference") {
  const WeightLayout layout{};
  const PackedTensor w = sherry::test::random_packed(70, 256, layout, 3);
  const std::vector<float> x = sherry::test::random_floats(3 * 256, 4);
  Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), LinearOptions{});
  REQUIRE(linear.ok());
  std::vector<float> y(3 * 70);
  (*linear)->forward(x.data(), 3, y.data());
  check_outputs(w, quantize_activations_i8(x.data(), 3, 256), y.data(), (*linear)->kernel_name());
}

TEST_CASE("a layout the generators cannot step through falls back to the reference") {
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 8};
  const PackedTensor w = sherry::test::random_packed(20, 64, layout, 8);
  Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), LinearOptions{});
  REQUIRE(linear.ok());
  CHECK((*linear)->kernel_name() == "reference_i8");
  const QuantizedActivations x = test::random_activations(2, 64, 9);
  std::vector<float> y(2 * 20);
  (*linear)->forward_quantized(x, y.data());
  check_outputs(w, x, y.data(), "reference fallback");
}

TEST_CASE("make_linear rejects a layout that does not fit the shape and names the tensor") {
  PackedTensor w = sherry::test::random_packed(8, 128, WeightLayout{}, 1);
  PackedTensorView view = w.view();
  view.cols = 100;
  LinearOptions options;
  options.name = "blk.3.ffn_up.weight";
  Result<std::unique_ptr<Linear>> linear = make_linear(view, options);
  REQUIRE_FALSE(linear.ok());
  CHECK(linear.error().message().find("blk.3.ffn_up.weight") != std::string::npos);
}

TEST_CASE("the reference backend is served when asked for") {
  const PackedTensor w = sherry::test::random_packed(8, 128, WeightLayout{}, 1);
  LinearOptions options;
  options.backend = KernelBackend::kReference;
  Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), options);
  REQUIRE(linear.ok());
  CHECK((*linear)->kernel_name() == "reference_i8");
}

}  // namespace
}  // namespace sherry::jit

namespace sherry::jit {
namespace {

TEST_CASE("int8 table layers follow the interpreter and stay exact elsewhere") {
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128};
  const int64_t m = 100, k = 512;
  const PackedTensor w = sherry::test::random_packed(m, k, layout, 21);
  std::vector<ir::Isa> isas = test::runnable_isas();
  for (const ir::Isa isa : isas) {
    test::IsaCap cap(isa);
    LinearOptions options;
    options.table_precision = ir::TablePrecision::kInt8Lossy;
    options.max_tokens = 5;
    Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), options);
    REQUIRE(linear.ok());
    const std::string name = (*linear)->kernel_name();
    const QuantizedActivations x = test::random_activations(5, k, 22);
    std::vector<float> y(static_cast<size_t>(5 * m));
    (*linear)->forward_quantized(x, y.data());
    if (name.find("_i16_") != std::string::npos) {
      CHECK(isa != ir::Isa::kAvx512vbmi);
      check_outputs(w, x, y.data(), name);
      continue;
    }
    REQUIRE(name.find("_i8_") != std::string::npos);
    // The interpreter defines the outputs: y = s · Σ_g ((float)acc · τ) · α.
    ir::KernelKey key;
    key.op = ir::KernelOp::kGemm;
    key.isa = isa;
    key.m = m;
    key.k = k;
    key.n_tile = 5;
    key.layout = layout;
    key.table = ir::TablePrecision::kInt8Lossy;
    Result<ir::Program> program = ir::lower(key, ir::scalar_target());
    REQUIRE(program.ok());
    Result<ir::InterpreterResult> want = ir::interpret(*program, w.view(), x);
    REQUIRE(want.ok());
    // fp32 rounding of G products and sums, with or without FMA (as check_outputs).
    const int64_t groups = 4;
    for (int64_t t = 0; t < 5; ++t) {
      for (int64_t r = 0; r < m; ++r) {
        double magnitude = 0.0;
        for (int64_t g = 0; g < groups; ++g) {
          magnitude += std::fabs(static_cast<double>(want->acc[(t * m + r) * groups + g]) *
                                 want->tau[t * groups + g] * w.view().scale(r, g));
        }
        const double tolerance =
            4.0 * (groups + 2) * std::ldexp(1.0, -24) * x.scales[t] * magnitude;
        const size_t i = static_cast<size_t>(t * m + r);
        if (std::fabs(y[i] - want->y[i]) > tolerance) {
          FAIL_CHECK(name, ": output ", i, " is ", y[i], ", the interpreter says ", want->y[i],
                     " tolerance ", tolerance);
        }
      }
    }
  }
}

}  // namespace
}  // namespace sherry::jit

namespace sherry::jit {
namespace {

// Tuned kernels are other code: other row tiles change the register plan and the tile loop,
// prefetch adds loads ahead. Every runnable path, with non-default row tiles (the quantum, an
// odd multiple of it, twice the default) and prefetch distances, over three layouts and token
// counts up to past the kernels' tokens per call: accumulators bit-exact against the reference,
// floats within check_outputs' bound, and the layer named with the tuning it was asked for.
TEST_CASE("tuned kernels match the reference on every path, layout and token count") {
  const std::vector<WeightLayout> layouts = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64},
      {BlockGrouping::kStride16, ScaleGranularity::kGroup, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128},
  };
  int checked = 0;
  for (const ir::Isa isa : test::runnable_isas()) {
    const IsaPath& path = isa_path(isa);
    const int64_t q = path.row_tile_quantum;
    for (const int64_t row_tile : {q, 3 * q, 2 * path.default_row_tile}) {
      for (const int64_t prefetch : {int64_t{64}, int64_t{512}}) {
        const ir::Tuning tuning{row_tile, prefetch};
        uint32_t seed = static_cast<uint32_t>(100 + row_tile + prefetch);
        for (const WeightLayout& layout : layouts) {
          // Rows: a partial last tile of every tuning.
          const int64_t m = 2 * row_tile + 5, k = 384;
          const PackedTensor w = sherry::test::random_packed(m, k, layout, ++seed);
          LinearOptions options;
          options.max_tokens = 9;
          options.isa = isa;
          options.tuning = tuning;
          options.name = "blk.0.tuned.weight";
          Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), options);
          REQUIRE_MESSAGE(linear.ok(), linear.error().message());
          const std::string name = (*linear)->kernel_name();
          CHECK_MESSAGE(name.find(fmt::format("_t{}", row_tile)) != std::string::npos, name);
          CHECK_MESSAGE(name.find(fmt::format("_p{}", prefetch)) != std::string::npos, name);
          const int64_t groups = scale_groups_per_row(layout, k);
          for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{9}}) {
            const QuantizedActivations x = test::random_activations(n, k, seed + n);
            std::vector<int32_t> want(static_cast<size_t>(n * m * groups));
            reference_accumulate_i32(w.view(), x, want.data());
            std::vector<int32_t> got(want.size(), -1);
            (*linear)->forward_accumulators(x, got.data());
            const std::string what = fmt::format("kernel {} n {} seed {}", name, n, seed);
            CHECK_MESSAGE(got == want, what);
            std::vector<float> y(static_cast<size_t>(n * m), -1.0f);
            (*linear)->forward_quantized(x, y.data());
            check_outputs(w, x, y.data(), what);
            ++checked;
          }
        }
      }
    }
  }
  if (!test::runnable_isas().empty()) CHECK(checked > 0);
}

}  // namespace
}  // namespace sherry::jit
