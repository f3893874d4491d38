// Dot kernels (ir::KernelOp::kDotGemm: codes decoded to int8 once per row tile, int8 dot
// products for every token) against core's reference_accumulate_i32, bit for bit, on every path
// that has them (avx512vbmi), over edge shapes, layouts, token counts, tunings and seeds; float
// outputs within a bound derived from the sums' length; the layer's dispatch by token count.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/reference_kernels.h"
#include "jit/aligned_buffer.h"
#include "jit/gemm_family.h"
#include "jit/kernel_build.h"
#include "jit/kernel_linear.h"
#include "jit/linear.h"
#include "jit/x64/dot_gemm_gen.h"
#include "jit/x64/dot_records.h"
#include "jit/x64/weight_repack.h"
#include "jit/x64/x64_backend.h"
#include "jit/x64/x64_kernel.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

// Paths with a dot family that this machine runs.
std::vector<ir::Isa> dot_isas() {
  std::vector<ir::Isa> isas;
  for (const ir::Isa isa : test::runnable_isas()) {
    if (isa_path(isa).dot_gemm) isas.push_back(isa);
  }
  return isas;
}

ir::KernelKey dot_key(ir::Isa isa, int64_t m, int64_t k, const WeightLayout& layout, int64_t n_tile,
                      ir::OutputMode output = ir::OutputMode::kAccumulators) {
  ir::KernelKey key;
  key.op = ir::KernelOp::kDotGemm;
  key.isa = isa;
  key.m = m;
  key.k = k;
  key.n_tile = n_tile;
  key.layout = layout;
  key.output = output;
  return key;
}

// One kernel call over every tile (split in two calls at `split`, as two threads would take
// them); the raw output buffer (int32 [token][group][m_pad] or float [token][m_pad]).
AlignedBuffer<uint8_t> run_dot(const Kernel& built, const PackedTensorView& w,
                               const QuantizedActivations& x, int64_t split = 0) {
  using namespace x64;
  const X64Kernel& kernel = as_x64(built);
  const KernelLayout& layout = kernel.layout;
  const RepackedWeights r = repack_weights(w, layout);
  AlignedBuffer<uint8_t> records(static_cast<size_t>(x.tokens * layout.table_bytes));
  for (int64_t t = 0; t < x.tokens; ++t) {
    build_dot_record(layout, w.layout.grouping, x.token(t), w.cols,
                     records.data() + t * layout.table_bytes);
  }
  AlignedBuffer<uint8_t> workspace(static_cast<size_t>(layout.panel_bytes));
  AlignedBuffer<uint8_t> out(static_cast<size_t>(x.tokens * layout.out_token_bytes));
  KernelArgs args{r.weights.data(), r.alpha.data(),  r.nneg.data(),   r.headers.data(),
                  records.data(),   x.scales.data(), out.data(),      0,
                  layout.tiles,     x.tokens,        workspace.data()};
  split = std::min(split, layout.tiles);
  if (split > 0) {
    args.tile_end = split;
    kernel.run(args);
    args.tile_begin = split;
    args.tile_end = layout.tiles;
  }
  kernel.run(args);
  return out;
}

// Builds, runs and compares the accumulators; false (after reporting) on a mismatch.
bool check_dot_accumulators(const ir::KernelKey& key, const PackedTensor& w,
                            const QuantizedActivations& x, uint32_t seed, int64_t split = 0) {
  Result<std::unique_ptr<Kernel>> kernel = build_kernel(key);
  if (!kernel.ok()) {
    FAIL_CHECK("seed ", seed, " kernel ", ir::kernel_name(key), ": ", kernel.error().message());
    return false;
  }
  const x64::KernelLayout& layout = x64::as_x64(**kernel).layout;
  const AlignedBuffer<uint8_t> out = run_dot(**kernel, w.view(), x, split);
  const auto* got = reinterpret_cast<const int32_t*>(out.data());
  std::vector<int32_t> want(static_cast<size_t>(x.tokens * w.rows * layout.groups));
  reference_accumulate_i32(w.view(), x, want.data());
  for (int64_t t = 0; t < x.tokens; ++t) {
    for (int64_t m = 0; m < w.rows; ++m) {
      for (int64_t g = 0; g < layout.groups; ++g) {
        const int32_t value = got[(t * layout.groups + g) * layout.m_pad + m];
        const int32_t expected = want[(t * w.rows + m) * layout.groups + g];
        if (value != expected) {
          FAIL_CHECK("seed ", seed, " kernel ", (*kernel)->name, " (", x.tokens, " tokens): token ",
                     t, " row ", m, " group ", g, " is ", value, ", reference ", expected);
          return false;
        }
      }
    }
  }
  return true;
}

struct LayoutCase {
  WeightLayout layout;
  std::vector<int64_t> ks;
};

std::vector<LayoutCase> layout_cases() {
  using G = BlockGrouping;
  using S = ScaleGranularity;
  return {
      {{G::kContiguous, S::kGroup, 32}, {32, 160}},
      {{G::kContiguous, S::kGroup, 64}, {64, 320}},
      {{G::kStride16, S::kGroup, 128}, {128, 512}},
      {{G::kContiguous, S::kChannel, 128}, {4, 20, 36, 100, 1348}},
      {{G::kStride16, S::kTensor, 128}, {64, 192}},
      {{G::kContiguous, S::kTensor, 128}, {8, 52}},
  };
}

TEST_CASE("dot kernels' accumulators match the reference on every path that has them") {
  const std::vector<ir::Isa> isas = dot_isas();
  for (const ir::Isa isa : isas) {
    for (uint32_t seed = 1; seed <= 2; ++seed) {
      for (const LayoutCase& c : layout_cases()) {
        for (const int64_t k : c.ks) {
          // Rows below, at and above a register block (32 or 64) and a tile (64).
          for (const int64_t m : {1, 31, 33, 64, 65, 131}) {
            const PackedTensor w = sherry::test::random_packed(m, k, c.layout, seed * 31 + k + m);
            // Tokens: one, below and above a token block (6 at 64-row blocks), several blocks.
            for (const int64_t n : {1, 5, 6, 7, 13, 19}) {
              const QuantizedActivations x = test::random_activations(n, k, seed * 7 + n);
              if (!check_dot_accumulators(dot_key(isa, m, k, c.layout, 19), w, x, seed)) break;
            }
          }
        }
      }
    }
  }
}

TEST_CASE("every dot tuning gives the reference's accumulators") {
  // Row tiles of one and several register blocks of 32 or 64 rows, token blocks from one to the
  // register limit, K blocks of one group, several and the whole row, tile ranges split.
  const WeightLayout layout{BlockGrouping::kStride16, ScaleGranularity::kGroup, 64};
  const int64_t k = 384;  // 6 groups
  for (const ir::Isa isa : dot_isas()) {
    int64_t checked = 0;
    for (const int64_t tile : {32, 64, 96, 128, 192}) {
      const int64_t m = 2 * tile + 5;
      const PackedTensor w = sherry::test::random_packed(m, k, layout, 17 + tile);
      const int64_t max_block = x64::dot_max_token_block(isa, x64::dot_block_rows(isa, tile));
      for (const int64_t token_block : {int64_t{1}, int64_t{2}, max_block - 1, max_block}) {
        for (const int64_t k_block : {1, 2, 3, 6}) {
          ir::KernelKey key = dot_key(isa, m, k, layout, 16);
          key.tuning.row_tile = tile;
          key.tuning.token_block = token_block;
          key.tuning.k_block = k_block;
          key.tuning.prefetch = k_block == 2 ? 512 : 0;
          const QuantizedActivations x =
              test::random_activations(token_block == 1 ? 3 : 16, k, 19 + k_block);
          CHECK(check_dot_accumulators(key, w, x, 19, k_block == 3 ? 1 : 0));
          ++checked;
        }
      }
    }
    CHECK(checked == 5 * 4 * 4);
  }
}

TEST_CASE("dot kernels stay exact at the extremes of the activations and the sums") {
  // ±127 activations over 8192 columns of one scale group: products of the unsigned weights
  // (up to 2 · 127) and the −Σ start reach ±2 million; rows of all +1 and all −1 blocks too.
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128};
  const int64_t m = 70, k = 8192;
  PackedTensor w = sherry::test::random_packed(m, k, layout, 5);
  for (int64_t b = 0; b < k / 4; ++b) {
    w.set_code(0, b, 0);
    w.set_code(1, b, 16);
  }
  QuantizedActivations x = test::extreme_activations(7, k, 3);
  std::fill(x.values.begin(), x.values.begin() + k, int8_t{127});
  std::fill(x.values.begin() + k, x.values.begin() + 2 * k, int8_t{-127});
  for (const ir::Isa isa : dot_isas())
    CHECK(check_dot_accumulators(dot_key(isa, m, k, layout, 7), w, x, 3));
}

TEST_CASE("dot kernels' float outputs match the reference within the rounding bound") {
  for (const ir::Isa isa : dot_isas()) {
    for (const LayoutCase& c : layout_cases()) {
      const int64_t k = c.ks.back();
      const int64_t m = 97;
      const PackedTensor w = sherry::test::random_packed(m, k, c.layout, 23 + k);
      const QuantizedActivations x = test::random_activations(9, k, 29);
      const ir::KernelKey key = dot_key(isa, m, k, c.layout, 9, ir::OutputMode::kFloat);
      Result<std::unique_ptr<Kernel>> kernel = build_kernel(key);
      REQUIRE(kernel.ok());
      const x64::KernelLayout& layout = x64::as_x64(**kernel).layout;
      const AlignedBuffer<uint8_t> out = run_dot(**kernel, w.view(), x);
      const auto* got = reinterpret_cast<const float*>(out.data());
      std::vector<int32_t> acc(static_cast<size_t>(x.tokens * m * layout.groups));
      reference_accumulate_i32(w.view(), x, acc.data());
      std::vector<float> want(static_cast<size_t>(x.tokens * m));
      reference_scale_accumulators(w.view(), x, acc.data(), want.data());
      // Both sum groups · (acc · α) in fp32, the kernel with fused multiply-adds: each of the
      // `groups` additions may round differently, by at most 2⁻²³ of the running sum's bound
      // Σ|acc·α|, and the final scale once more.
      for (int64_t t = 0; t < x.tokens; ++t) {
        for (int64_t r = 0; r < m; ++r) {
          double bound = 0;
          for (int64_t g = 0; g < layout.groups; ++g) {
            bound += std::abs(static_cast<double>(acc[(t * m + r) * layout.groups + g]) *
                              w.view().scale(r, g));
          }
          bound *= x.scales[t] * (layout.groups + 2) * std::ldexp(1.0, -23);
          const float value = got[t * layout.m_pad + r];
          const float expected = want[t * m + r];
          if (std::abs(value - expected) > bound) {
            FAIL_CHECK((*kernel)->name, ": token ", t, " row ", r, " is ", value, ", reference ",
                       expected, " (bound ", bound, ")");
          }
        }
      }
    }
  }
}

// Sets the GEMM family for a scope.
class FamilyGuard {
 public:
  explicit FamilyGuard(std::optional<GemmFamily> family) { set_gemm_family(family); }
  ~FamilyGuard() { set_gemm_family(std::nullopt); }
};

TEST_CASE("a layer runs the dot kernel from its crossover and the lookup kernels below it") {
  const std::vector<ir::Isa> isas = dot_isas();
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128};
  const int64_t m = 200, k = 512;
  const PackedTensor w = sherry::test::random_packed(m, k, layout, 41);
  ThreadPool pool(2);
  for (const ir::Isa isa : isas) {
    for (const GemmFamily family : {GemmFamily::kAuto, GemmFamily::kDot, GemmFamily::kLookup}) {
      FamilyGuard guard(family);
      LinearOptions options;
      options.isa = isa;
      options.max_tokens = 40;
      options.pool = &pool;
      Result<std::unique_ptr<Linear>> linear = make_linear(w.view(), options);
      REQUIRE(linear.ok());
      const bool has_dot = (*linear)->kernel_name().find("dotgemm") != std::string::npos;
      const int64_t from = dot_min_tokens(isa, family);
      // auto: the path's measured crossover, where the dot kernels won at some size.
      CHECK(has_dot == (family == GemmFamily::kDot ||
                        (family == GemmFamily::kAuto && isa_path(isa).dot_min_tokens > 0)));
      INFO(to_string(family), ": ", (*linear)->kernel_name(), "; ", (*linear)->gemm_choice());
      if (has_dot) {
        CHECK((*linear)->gemm_choice().find(fmt::format("calls of {}+ tokens", from)) !=
              std::string::npos);
      } else {
        CHECK((*linear)->gemm_choice().find(family == GemmFamily::kLookup
                                                ? "SHERRY_GEMM=lookup"
                                                : "the lookup kernels were faster") !=
              std::string::npos);
      }
      // Every token count up to max_tokens, and more (several dot calls): the exact
      // accumulators either family gives.
      for (const int64_t n : {1, 2, 3, 7, 8, 9, 40, 41, 97}) {
        const QuantizedActivations x = test::random_activations(n, k, 43 + n);
        std::vector<int32_t> got(static_cast<size_t>(n * m * 4)), want(got.size());
        (*linear)->forward_accumulators(x, got.data());
        reference_accumulate_i32(w.view(), x, want.data());
        CHECK_MESSAGE(got == want, n, " tokens");
      }
    }
  }
}

TEST_CASE("keys the dot generator cannot serve are errors that name the kernel") {
  const WeightLayout layout{};
  for (const ir::Isa isa : test::runnable_isas()) {
    const ir::KernelKey key = dot_key(isa, 64, 256, layout, 8);
    if (!isa_path(isa).dot_gemm) {
      Result<std::unique_ptr<Kernel>> k = build_kernel(key);
      REQUIRE_FALSE(k.ok());
      CHECK(k.error().message().find(
                "the dot GEMM family is generated for avx512vbmi and avx2vnni only") !=
            std::string::npos);
      CHECK(k.error().message().find("dotgemm_") != std::string::npos);
      continue;
    }
    // 64-row tiles: blocks of 64 rows on avx512vbmi, of 16 on avx2vnni; 6 tokens at most on both.
    ir::KernelKey wide = key;
    wide.tuning.token_block = 7;
    Result<std::unique_ptr<Kernel>> k = build_kernel(wide);
    REQUIRE_FALSE(k.ok());
    const std::string limit = fmt::format("token block 7 must be 1 to 6 for blocks of {} rows",
                                          isa == ir::Isa::kAvx512vbmi ? 64 : 16);
    CHECK(k.error().message().find(limit) != std::string::npos);
    ir::KernelKey uneven = key;
    uneven.tuning.k_block = 3;
    k = build_kernel(uneven);
    REQUIRE_FALSE(k.ok());
    CHECK(k.error().message().find("K block of 3 scale groups must divide the 2 groups") !=
          std::string::npos);
    ir::KernelKey int8 = key;
    int8.table = ir::TablePrecision::kInt8Lossy;
    k = build_kernel(int8);
    REQUIRE_FALSE(k.ok());
    // Where the path has int8 tables at all, lowering says the dot kernels have none.
    CHECK(k.error().message().find(isa_path(isa).int8_tables
                                       ? "a dot kernel has no tables"
                                       : "int8 tables are generated for avx512vbmi only") !=
          std::string::npos);
  }
}

}  // namespace
}  // namespace sherry::jit
