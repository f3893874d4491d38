// Every float kernel path this CPU runs (AVX2, AVX-512) against the portable versions on edge
// shapes, and the choice of path under the JIT's ISA cap (SHERRY_MAX_ISA, jit::set_max_isa).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/activation_quant.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "isa_scope.h"
#include "jit/cpu_detect.h"
#include "runtime/float_kernels.h"

namespace sherry::runtime {
namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();
constexpr uint32_t kSeed = 20250117;

using testing::ForcedFloatIsa;
using testing::MaxIsa;

// The SIMD paths this CPU runs, each compared with the portable one.
std::vector<FloatIsa> simd_paths_here() {
  std::vector<FloatIsa> paths;
  for (FloatIsa isa : {FloatIsa::kAvx2, FloatIsa::kAvx512, FloatIsa::kAvx512Vnni}) {
    if (float_isa_runs_here(isa)) paths.push_back(isa);
  }
  return paths;
}

// Lengths below, at and above the 8- and 16-float vectors and the 32/64-float unrolled steps.
const std::vector<int64_t> kLengths = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257};

std::vector<float> random_floats(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<uint16_t> random_fp16(int64_t n, std::mt19937& rng) {
  std::vector<uint16_t> v;
  for (float x : random_floats(n, rng)) v.push_back(float_to_fp16(x));
  return v;
}

// A rows × cols matrix in its storage type, with the exact value of every weight.
struct TestMatrix {
  std::vector<uint8_t> storage;
  std::vector<double> values;  // row-major
  FloatMatrix view;
};

TestMatrix random_matrix(FloatType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  TestMatrix t;
  t.view = {type, rows, cols, nullptr};
  t.storage.resize(static_cast<size_t>(rows * t.view.row_bytes()));
  const std::vector<float> source = random_floats(rows * cols, rng);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float x = source[i];
    switch (type) {
      case FloatType::kF32:
        std::memcpy(t.storage.data() + i * 4, &x, 4);
        t.values.push_back(x);
        break;
      case FloatType::kF16: {
        const uint16_t h = float_to_fp16(x);
        std::memcpy(t.storage.data() + i * 2, &h, 2);
        t.values.push_back(fp16_to_float(h));
        break;
      }
      case FloatType::kBF16: {
        const uint16_t h = float_to_bf16(x);
        std::memcpy(t.storage.data() + i * 2, &h, 2);
        t.values.push_back(bf16_to_float(h));
        break;
      }
      case FloatType::kQ8_0:
      case FloatType::kQ4_K:  // the K-quants: int8_gemm_test.cpp, k_quants_test.cpp
      case FloatType::kQ5_K:
      case FloatType::kQ6_K:
        break;  // below, a row at a time
    }
  }
  if (type == FloatType::kQ8_0) {
    auto* blocks = reinterpret_cast<Q8_0Block*>(t.storage.data());
    const int64_t per_row = cols / kQ8_0BlockWeights;
    for (int64_t r = 0; r < rows; ++r)
      quantize_q8_0_row(&source[r * cols], cols, blocks + r * per_row);
    for (int64_t b = 0; b < rows * per_row; ++b) {
      for (int i = 0; i < 32; ++i) {
        t.values.push_back(static_cast<double>(fp16_to_float(blocks[b].d)) * blocks[b].q[i]);
      }
    }
  }
  t.view.data = t.storage.data();
  return t;
}

std::string type_name(FloatType type) {
  return to_string(type);
}

// |Δ| between two float sums of the same `n` products in different orders (FMA or not): each
// is within n·u·Σ|wᵢxᵢ| of the exact sum (u = eps/2, the unit roundoff), so together within
// n·eps·Σ|wᵢxᵢ|; twice that for margin (Q8_0's SIMD versions also round d·q once per weight).
double sum_bound(int64_t n, double sum_abs) {
  return 2.0 * static_cast<double>(n) * kEps * sum_abs;
}

std::vector<float> gemm(FloatIsa isa, const FloatMatrix& w, const std::vector<float>& x, int64_t n,
                        ThreadPool* pool = nullptr) {
  ForcedFloatIsa forced(isa);
  std::vector<float> y(static_cast<size_t>(n * w.rows), std::nanf(""));
  float_gemm(w, x.data(), n, y.data(), pool);
  return y;
}

TEST_CASE("every simd float gemm matches the portable one on edge shapes of every type") {
  std::mt19937 rng(kSeed);
  const std::vector<int64_t> q8_cols = {32, 64, 96, 160, 288};
  for (FloatIsa isa : simd_paths_here()) {
    for (FloatType type : {FloatType::kF32, FloatType::kF16, FloatType::kBF16, FloatType::kQ8_0}) {
      const std::vector<int64_t>& all_cols = type == FloatType::kQ8_0 ? q8_cols : kLengths;
      for (int64_t cols : all_cols) {
        for (int64_t rows : {1, 3, 5}) {
          const TestMatrix w = random_matrix(type, rows, cols, rng);
          for (int64_t n = 1; n <= 6; ++n) {
            const std::vector<float> x = random_floats(n * cols, rng);
            const std::vector<float> want = gemm(FloatIsa::kGeneric, w.view, x, n);
            const std::vector<float> got = gemm(isa, w.view, x, n);
            for (int64_t t = 0; t < n; ++t) {
              for (int64_t m = 0; m < rows; ++m) {
                double sum_abs = 0;
                for (int64_t k = 0; k < cols; ++k)
                  sum_abs += std::fabs(w.values[m * cols + k] * x[t * cols + k]);
                const float a = got[t * rows + m];
                const float b = want[t * rows + m];
                INFO("seed ", kSeed, " path ", std::string(to_string(isa)), " ", type_name(type),
                     " cols ", cols, " rows ", rows, " tokens ", n, " at token ", t, " row ", m);
                // The bound of sum_bound, over the cols products of the row.
                REQUIRE(std::fabs(static_cast<double>(a) - b) <= sum_bound(cols, sum_abs));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("a simd float gemm split across threads gives the same bits as on one thread") {
  std::mt19937 rng(kSeed + 1);
  ThreadPool pool(2, 0);
  for (FloatIsa isa : simd_paths_here()) {
    for (FloatType type : {FloatType::kF16, FloatType::kQ8_0}) {
      const TestMatrix w = random_matrix(type, 131, 96, rng);
      const std::vector<float> x = random_floats(3 * 96, rng);
      INFO("path ", std::string(to_string(isa)), " ", type_name(type));
      // Every row is computed the same way whichever thread runs it: bit-exact.
      CHECK(gemm(isa, w.view, x, 3, &pool) == gemm(isa, w.view, x, 3));
    }
  }
}

TEST_CASE("every simd dot and dot f16 matches the portable one at every length") {
  std::mt19937 rng(kSeed + 2);
  for (FloatIsa isa : simd_paths_here()) {
    for (int64_t n : kLengths) {
      const std::vector<float> a = random_floats(n, rng);
      const std::vector<float> b = random_floats(n, rng);
      const std::vector<uint16_t> h = random_fp16(n, rng);
      double sum_abs = 0;
      double sum_abs_f16 = 0;
      for (int64_t k = 0; k < n; ++k) {
        sum_abs += std::fabs(static_cast<double>(a[k]) * b[k]);
        sum_abs_f16 += std::fabs(static_cast<double>(a[k]) * fp16_to_float(h[k]));
      }
      float want = 0;
      float want_f16 = 0;
      {
        ForcedFloatIsa generic(FloatIsa::kGeneric);
        want = dot(a.data(), b.data(), n);
        want_f16 = dot_f16(a.data(), h.data(), n);
      }
      ForcedFloatIsa forced(isa);
      INFO("seed ", kSeed + 2, " path ", std::string(to_string(isa)), " length ", n);
      // The bound of sum_bound, over the n products.
      CHECK(std::fabs(static_cast<double>(dot(a.data(), b.data(), n)) - want) <=
            sum_bound(n, sum_abs));
      CHECK(std::fabs(static_cast<double>(dot_f16(a.data(), h.data(), n)) - want_f16) <=
            sum_bound(n, sum_abs_f16));
    }
  }
}

// y + alpha · x through axpy or axpy_f16 on a path, with 8 guard values after the n results.
std::vector<float> axpy_on(FloatIsa isa, float alpha, const std::vector<float>& x,
                           const std::vector<uint16_t>& h, const std::vector<float>& y) {
  ForcedFloatIsa forced(isa);
  std::vector<float> out = y;
  out.resize(y.size() + 8, 12345.0f);
  const auto n = static_cast<int64_t>(y.size());
  if (h.empty()) {
    axpy(alpha, x.data(), n, out.data());
  } else {
    axpy_f16(alpha, h.data(), n, out.data());
  }
  return out;
}

TEST_CASE("every simd axpy and axpy f16 matches the portable one and writes nothing past n") {
  std::mt19937 rng(kSeed + 3);
  for (FloatIsa isa : simd_paths_here()) {
    for (int64_t n : kLengths) {
      for (bool f16 : {false, true}) {
        const std::vector<float> x = random_floats(n, rng);
        const std::vector<uint16_t> h = f16 ? random_fp16(n, rng) : std::vector<uint16_t>{};
        const std::vector<float> y = random_floats(n, rng);
        const float alpha = random_floats(1, rng)[0] * 3.0f;
        const std::vector<float> want = axpy_on(FloatIsa::kGeneric, alpha, x, h, y);
        const std::vector<float> got = axpy_on(isa, alpha, x, h, y);
        for (int64_t k = 0; k < n + 8; ++k) {
          INFO("seed ", kSeed + 3, " path ", std::string(to_string(isa)), " f16 ", f16, " length ",
               n, " at ", k);
          if (k >= n) {
            REQUIRE(got[k] == 12345.0f);
            continue;
          }
          const double ax = static_cast<double>(alpha) * (f16 ? fp16_to_float(h[k]) : x[k]);
          // The portable version rounds α·x and then the sum (≤ u·|α·x| + u·|s| + O(u²) from the
          // exact s = y + α·x), the FMA only the sum (≤ u·|s|): |Δ| ≤ eps·(|α·x| + |s|).
          REQUIRE(std::fabs(static_cast<double>(got[k]) - want[k]) <=
                  kEps * (std::fabs(ax) + std::fabs(ax + y[k])));
        }
      }
    }
  }
}

// Floats whose fp16 rounding is delicate: ties to even, the subnormal range, the overflow
// threshold, infinities and quiet NaNs; then random ones from far below the smallest subnormal
// to beyond the largest fp16. (Signalling NaNs are left out: the hardware conversion quiets them,
// float_to_fp16 keeps them signalling.)
std::vector<float> fp16_edge_values(std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          1.0f + 0x1p-11f,  // a tie: to even (1)
                          1.0f + 0x3p-11f,  // a tie: to even (1 + 2^-9)
                          65504.0f,
                          65519.0f,
                          65520.0f,  // a tie: to infinity
                          -65520.0f,
                          1e6f,
                          0x1p-14f,  // smallest normal
                          0x1p-24f,  // smallest subnormal
                          0x1p-25f,  // a tie: to 0
                          0x3p-25f,  // a tie: to 2^-23
                          0x1p-26f,
                          -0x1.ffcp-15f,
                          inf,
                          -inf,
                          std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::quiet_NaN(),
                          std::bit_cast<float>(0x7FC02000u)};
  std::uniform_int_distribution<uint32_t> exponent(100, 145);  // 2^-27 .. 2^18
  std::uniform_int_distribution<uint32_t> mantissa(0, 0x7FFFFF);
  std::uniform_int_distribution<uint32_t> sign(0, 1);
  while (v.size() < 257) {
    v.push_back(std::bit_cast<float>(sign(rng) << 31 | exponent(rng) << 23 | mantissa(rng)));
  }
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

TEST_CASE("every simd to fp16 gives the bits of float to fp16 at every length") {
  std::mt19937 rng(kSeed + 4);
  for (FloatIsa isa : simd_paths_here()) {
    for (int repeat = 0; repeat < 4; ++repeat) {
      const std::vector<float> values = fp16_edge_values(rng);
      for (int64_t n : kLengths) {
        std::vector<uint16_t> out(static_cast<size_t>(n) + 8, 0xABCD);
        {
          ForcedFloatIsa forced(isa);
          to_fp16(values.data(), n, out.data());
        }
        for (int64_t k = 0; k < n + 8; ++k) {
          INFO("seed ", kSeed + 4, " path ", std::string(to_string(isa)), " length ", n, " at ", k,
               " value bits ", std::bit_cast<uint32_t>(values[k]));
          // Exact: both round to nearest even, so the same bits.
          REQUIRE(out[k] == (k < n ? float_to_fp16(values[k]) : 0xABCD));
        }
      }
    }
  }
}

TEST_CASE("every simd int8 quantization gives the bits of quantize token i8 at every length") {
  // Random values at several magnitudes, plus the edges of the rule: all zeros, ties at .5 after
  // scaling, NaNs (left out of the max, quantized to 0), infinities (the max is infinite: every
  // finite value goes to 0, the infinities to NaN · 0 = 0), a subnormal max (127 / max is
  // infinite), values a hair over the max after rounding of 127 / max.
  std::mt19937 rng(kSeed + 5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<std::vector<float>> inputs;
  for (const float scale : {1.0f, 1e-3f, 3e4f}) {
    std::vector<float> v = random_floats(300, rng);
    for (float& x : v) x *= scale;
    inputs.push_back(v);
  }
  inputs.push_back(std::vector<float>(300, 0.0f));
  std::vector<float> ties(300);
  for (size_t i = 0; i < ties.size(); ++i) ties[i] = (static_cast<float>(i % 255) - 127.0f) + 0.5f;
  ties[7] = 127.5f;  // the max: 127 / 127.5 scales the others to ties after rounding
  inputs.push_back(ties);
  std::vector<float> with_nan = random_floats(300, rng);
  for (size_t i = 0; i < with_nan.size(); i += 37) with_nan[i] = nan;
  inputs.push_back(with_nan);
  std::vector<float> with_inf = random_floats(300, rng);
  with_inf[3] = inf;
  with_inf[200] = -inf;
  inputs.push_back(with_inf);
  std::vector<float> subnormal(300, 0.0f);
  subnormal[5] = 0x1p-140f;
  subnormal[290] = -0x1p-141f;
  inputs.push_back(subnormal);
  // A NaN in the first, middle and last vector of every length (each vector's max in turn).
  const size_t placed_nan = inputs.size();
  inputs.push_back(random_floats(300, rng));
  for (FloatIsa isa : simd_paths_here()) {
    for (size_t c = 0; c < inputs.size(); ++c) {
      for (int64_t n : kLengths) {
        if (n > static_cast<int64_t>(inputs[c].size())) continue;
        if (c == placed_nan) {
          inputs[c] = random_floats(300, rng);
          for (const int64_t at : {int64_t{0}, n / 2, n - 1, std::max<int64_t>(0, n - 17)}) {
            inputs[c][static_cast<size_t>(at)] = nan;
          }
        }
        std::vector<int8_t> got(static_cast<size_t>(n) + 8, 0x55), want(static_cast<size_t>(n));
        float scale;
        {
          ForcedFloatIsa forced(isa);
          scale = quantize_i8(inputs[c].data(), n, got.data());
        }
        const float want_scale = quantize_token_i8(inputs[c].data(), n, want.data());
        INFO("path ", std::string(to_string(isa)), " input ", c, " length ", n);
        CHECK(std::bit_cast<uint32_t>(scale) == std::bit_cast<uint32_t>(want_scale));
        for (int64_t k = 0; k < n + 8; ++k) {
          INFO("at ", k);
          REQUIRE(got[k] == (k < n ? want[k] : int8_t{0x55}));
        }
      }
    }
  }
}

TEST_CASE("every simd swiglu and softmax matches the portable one within the exp bound") {
  // The SIMD exp (runtime/exp_poly.h) is within 2 ulp of std::exp where e^x is a normal float:
  // silu(g) · up then differs by at most 2 ulp + the division's and the product's roundings,
  // 4 ulp in all; where the portable e^−g overflows (g < −88.4) the SIMD one stops at e^88.4,
  // so the output is a few 1e-37 instead of −0 (the absolute term). Softmax sums in another order
  // (lanes, then the lane sums): each output within (6 + n) · 2⁻²⁴ of itself, and outputs below
  // e^−87.3 may be 0 instead of a subnormal.
  std::mt19937 rng(kSeed + 6);
  for (FloatIsa isa : simd_paths_here()) {
    for (int64_t n : kLengths) {
      std::vector<float> gate = random_floats(n, rng), up = random_floats(n, rng);
      for (int64_t k = 0; k < n; ++k) gate[k] *= (k % 5 == 0) ? 40.0f : 4.0f;  // large |g| too
      if (n > 3) gate[3] = -95.0f;                                             // e^95: beyond float
      std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
      {
        ForcedFloatIsa forced(isa);
        swiglu(gate.data(), up.data(), n, got.data());
      }
      {
        ForcedFloatIsa portable_path(FloatIsa::kGeneric);
        swiglu(gate.data(), up.data(), n, want.data());
      }
      for (int64_t k = 0; k < n; ++k) {
        const double bound = 4 * kEps * std::fabs(want[k]) + 1e-30 * std::fabs(up[k]);
        INFO("swiglu path ", std::string(to_string(isa)), " length ", n, " at ", k, " gate ",
             gate[k]);
        REQUIRE(std::fabs(static_cast<double>(got[k]) - want[k]) <= bound);
      }
      std::vector<float> logits = random_floats(n, rng);
      for (float& v : logits) v *= 30.0f;
      std::vector<float> soft = logits, portable = logits;
      {
        ForcedFloatIsa forced(isa);
        softmax(soft.data(), n);
      }
      {
        ForcedFloatIsa portable_path(FloatIsa::kGeneric);
        softmax(portable.data(), n);
      }
      for (int64_t k = 0; k < n; ++k) {
        const double bound = (6 + n) * kEps / 2 * std::fabs(portable[k]) + 1e-37;
        INFO("softmax path ", std::string(to_string(isa)), " length ", n, " at ", k);
        REQUIRE(std::fabs(static_cast<double>(soft[k]) - portable[k]) <= bound);
      }
    }
  }
}

TEST_CASE("the float path follows the jit isa cap") {
  set_float_kernels_isa(std::nullopt);
  {
    MaxIsa cap(ir::Isa::kScalar);
    CHECK(std::string(float_kernels_isa()) == "generic");
  }
  {
    MaxIsa cap(ir::Isa::kSsse3);
    CHECK(std::string(float_kernels_isa()) == "generic");
    CHECK(active_float_isa() == FloatIsa::kGeneric);
  }
  if (float_isa_runs_here(FloatIsa::kAvx2)) {
    MaxIsa cap(ir::Isa::kAvx2);
    CHECK(std::string(float_kernels_isa()) == "avx2");
  }
  if (float_isa_runs_here(FloatIsa::kAvx512)) {
    MaxIsa cap(ir::Isa::kAvx512bw);  // its JIT path needs no VNNI, so neither does this one
    CHECK(std::string(float_kernels_isa()) == "avx512");
  }
  if (float_isa_runs_here(FloatIsa::kAvx512)) {
    MaxIsa cap(ir::Isa::kAvx512vbmi);
    CHECK(std::string(float_kernels_isa()) ==
          (float_isa_runs_here(FloatIsa::kAvx512Vnni) ? "avx512vnni" : "avx512"));
  }
}

TEST_CASE("without a cap the float path is the best the cpu runs and an unknown cap is generic") {
  // SHERRY_MAX_ISA as this process was started with (a CTest entry may set it), put back after.
  const char* saved = std::getenv("SHERRY_MAX_ISA");
  const std::string original = saved != nullptr ? saved : "";
  set_float_kernels_isa(std::nullopt);
  const auto with_env = [](const char* value) {
    if (value != nullptr) {
      setenv("SHERRY_MAX_ISA", value, 1);
    } else {
      unsetenv("SHERRY_MAX_ISA");
    }
    jit::set_max_isa(std::nullopt);  // a new generation: the variable is read again
    return std::string(float_kernels_isa());
  };
  const char* best = float_isa_runs_here(FloatIsa::kAvx512Vnni) ? "avx512vnni"
                     : float_isa_runs_here(FloatIsa::kAvx512)   ? "avx512"
                     : float_isa_runs_here(FloatIsa::kAvx2)     ? "avx2"
                                                                : "generic";
  CHECK(with_env(nullptr) == best);
  CHECK(with_env("ssse3") == "generic");
  if (float_isa_runs_here(FloatIsa::kAvx2)) CHECK(with_env("avx2") == "avx2");
  // The JIT reports this one as an error at dispatch; the float path takes the portable versions.
  CHECK(with_env("avx9000") == "generic");
  with_env(saved != nullptr ? original.c_str() : nullptr);
}

TEST_CASE("a forced float path ignores the cap and falls back to what the cpu runs") {
  MaxIsa cap(ir::Isa::kSsse3);
  {
    ForcedFloatIsa forced(FloatIsa::kAvx2);
    CHECK(std::string(float_kernels_isa()) ==
          (float_isa_runs_here(FloatIsa::kAvx2) ? "avx2" : "generic"));
  }
  {
    ForcedFloatIsa forced(FloatIsa::kAvx512);
    const FloatIsa want = float_isa_runs_here(FloatIsa::kAvx512) ? FloatIsa::kAvx512
                          : float_isa_runs_here(FloatIsa::kAvx2) ? FloatIsa::kAvx2
                                                                 : FloatIsa::kGeneric;
    CHECK(active_float_isa() == want);
  }
  CHECK(std::string(float_kernels_isa()) == "generic");
}

}  // namespace
}  // namespace sherry::runtime
