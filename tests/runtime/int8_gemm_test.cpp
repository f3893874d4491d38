// The int8 GEMM (runtime/int8_gemm.h) on every path this CPU runs (scalar, AVX2, AVX-512 VNNI;
// forced one by one), against an oracle computed here from the independent block decoder
// (tests/common/k_quant_reference.h) and the int8 activations: the integer block sums bit for bit,
// the float results within the bound derived below; edge shapes, several seeds, extreme codes.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/half.h"
#include "core/thread_pool.h"
#include "isa_scope.h"
#include "jit/cpu_detect.h"
#include "runtime/int8_gemm.h"
#include "runtime/k_quants.h"
#include "runtime/linear_layer.h"
#include "tests/common/k_quant_reference.h"

namespace sherry::runtime {
namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();

using testing::ForcedFloatIsa;
using testing::MaxIsa;

// Every float path this CPU runs, so every int8 implementation: scalar, avx2 (twice: kAvx2 and
// kAvx512 run it), avx512vnni.
std::vector<FloatIsa> paths_here() {
  std::vector<FloatIsa> paths;
  for (FloatIsa isa :
       {FloatIsa::kGeneric, FloatIsa::kAvx2, FloatIsa::kAvx512, FloatIsa::kAvx512Vnni}) {
    if (float_isa_runs_here(isa)) paths.push_back(isa);
  }
  return paths;
}

std::string label(FloatIsa isa) {
  return std::string(to_string(isa)) + " (int8 " + int8_gemm_path(isa) + ")";
}

int block_bytes(FloatType type) {
  switch (type) {
    case FloatType::kQ4_K:
      return 144;
    case FloatType::kQ5_K:
      return 176;
    case FloatType::kQ6_K:
      return 210;
    default:
      return 34;  // Q8_0: fp16 d, 32 int8
  }
}

test::KType k_type(FloatType type) {
  return type == FloatType::kQ4_K   ? test::KType::kQ4_K
         : type == FloatType::kQ5_K ? test::KType::kQ5_K
                                    : test::KType::kQ6_K;
}

void put_half(uint8_t* at, float value) {
  const uint16_t h = float_to_fp16(value);
  at[0] = static_cast<uint8_t>(h & 0xff);
  at[1] = static_cast<uint8_t>(h >> 8);
}

// A rows × cols matrix of random blocks: every code and integer scale pattern occurs, the fp16
// scales are ordinary numbers of either sign (d, dmin; Q6_K's d). `extreme`: the largest codes
// and integer scales everywhere (Q4_K/Q5_K 15/31 with sc = m = 63, Q6_K 63 with scales −128 and
// 127, Q8_0 −128 and 127) for the saturation and overflow limits.
std::vector<uint8_t> random_weights(FloatType type, int64_t rows, int64_t cols, std::mt19937& rng,
                                    bool extreme) {
  const int64_t blocks = rows * cols / block_weights(type);
  const int bytes = block_bytes(type);
  std::vector<uint8_t> w(static_cast<size_t>(blocks * bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* p = w.data() + b * bytes;
    for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(extreme ? 0xff : byte(rng));
    switch (type) {
      case FloatType::kQ4_K:
      case FloatType::kQ5_K:
        put_half(p, extreme ? 1.0f : scale(rng));
        put_half(p + 2, extreme ? 1.0f : scale(rng));
        break;
      case FloatType::kQ6_K:
        if (extreme) {
          for (int j = 0; j < 16; ++j) p[192 + j] = j % 2 ? 0x80 : 0x7f;  // −128, 127
        }
        put_half(p + 208, extreme ? 1.0f : scale(rng));
        break;
      default:  // Q8_0
        if (extreme) {
          for (int i = 0; i < 32; ++i) p[2 + i] = i % 3 ? 0x80 : 0x7f;  // −128, 127
        }
        put_half(p, extreme ? 1.0f : scale(rng));
        break;
    }
  }
  return w;
}

// n tokens of activations: normal values, one all-zero block per token when there is room,
// or (`extreme`) ±1 everywhere so every int8 value is ±127.
std::vector<float> random_activations(int64_t n, int64_t cols, int64_t block, std::mt19937& rng,
                                      bool extreme) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * cols));
  for (int64_t i = 0; i < n * cols; ++i) {
    x[i] = extreme ? (i % 5 == 0 ? -1.0f : 1.0f) : normal(rng);
  }
  if (!extreme && cols / block > 1) {
    for (int64_t t = 0; t < n; ++t) {
      const int64_t zero_block = t % (cols / block);
      std::fill_n(x.begin() + t * cols + zero_block * block, block, 0.0f);
    }
  }
  return x;
}

// The oracle of one (token, row): block sums from the decoded fields and the int8 values, the
// exact dot product of those sums with the float block scales the kernels use, and T, the bound
// on every partial sum either way of computing it (Σ over blocks of |scale|·Σ|terms|).
struct Oracle {
  std::vector<int32_t> sums;
  double exact = 0;
  double magnitude = 0;
};

Oracle oracle(FloatType type, const uint8_t* row, const Int8Activations& x, int64_t t) {
  Oracle o;
  const int64_t bw = block_weights(type);
  const int8_t* a = x.token_values(t);
  for (int64_t b = 0; b < x.cols / bw; ++b) {
    const uint8_t* p = row + b * block_bytes(type);
    const int8_t* ab = a + b * bw;
    const float x_scale = x.token_scales(t)[b];
    int64_t s = 0, m = 0, s_abs = 0, m_abs = 0;
    float c = 0, e = 0;  // dot += c·S − e·M
    if (type == FloatType::kQ8_0) {
      for (int i = 0; i < 32; ++i) {
        const int q = static_cast<int8_t>(p[2 + i]);
        s += q * ab[i];
        s_abs += std::abs(q * ab[i]);
      }
      c = x_scale * test::half_bits_to_float(test::read_u16(p));
    } else {
      const test::KBlockFields f = test::read_k_block(k_type(type), p);
      for (int j = 0; j < 256 / f.sub_block; ++j) {
        int64_t dot = 0, dot_abs = 0, sum = 0, sum_abs = 0;
        for (int i = j * f.sub_block; i < (j + 1) * f.sub_block; ++i) {
          dot += f.code[i] * ab[i];
          dot_abs += std::abs(f.code[i] * ab[i]);
          sum += ab[i];
          sum_abs += std::abs(ab[i]);
        }
        const int min = f.has_min ? f.min[j] : f.scale[j];  // Q6_K: M carries the scales
        s += f.scale[j] * dot;
        s_abs += std::abs(f.scale[j]) * dot_abs;
        m += min * sum;
        m_abs += std::abs(min) * sum_abs;
      }
      c = x_scale * f.d;
      e = f.has_min ? x_scale * f.dmin : 32 * c;
    }
    o.sums.push_back(static_cast<int32_t>(s));
    o.sums.push_back(static_cast<int32_t>(m));
    o.exact += static_cast<double>(c) * static_cast<double>(s) -
               static_cast<double>(e) * static_cast<double>(m);
    o.magnitude += std::fabs(static_cast<double>(c)) * static_cast<double>(s_abs) +
                   std::fabs(static_cast<double>(e)) * static_cast<double>(m_abs);
  }
  return o;
}

// |computed − exact| for one (token, row) on any path: per block at most 6 roundings (the two
// conversions of int32 sums to float, the two products, their difference, the running sum; the
// SIMD paths need fewer: a conversion and an FMA per lane and part), each of at most u·T with
// u = eps/2 (every partial sum is bounded by T), plus 24·u·T for the lane reductions (16 lanes:
// 4 levels) and the final additions. So (6·blocks + 24)·u·T = (3·blocks + 12)·eps·T.
double bound(int64_t blocks, double magnitude) {
  return (3.0 * static_cast<double>(blocks) + 12.0) * kEps * magnitude;
}

std::string type_name(FloatType type) {
  return to_string(type);
}

void check_shape(FloatType type, int64_t rows, int64_t cols, int64_t n, uint32_t seed,
                 bool extreme) {
  std::mt19937 rng(seed);
  const std::vector<uint8_t> weights = random_weights(type, rows, cols, rng, extreme);
  const FloatMatrix w{type, rows, cols, weights.data()};
  Int8Activations x = make_int8_activations(type, n, cols);
  const std::vector<float> floats = random_activations(n, cols, x.block, rng, extreme);
  quantize_int8_activations(floats.data(), n, x);
  const int64_t blocks = cols / block_weights(type);
  std::vector<Oracle> want;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      want.push_back(oracle(type, weights.data() + r * w.row_bytes(), x, t));
    }
  }
  ThreadPool pool(2, 0);
  for (FloatIsa isa : paths_here()) {
    ForcedFloatIsa forced(isa);
    std::vector<float> y(static_cast<size_t>(n * rows), std::nanf(""));
    int8_gemm(w, x, y.data(), nullptr);
    std::vector<float> y_threads(y.size(), std::nanf(""));
    int8_gemm(w, x, y_threads.data(), &pool);
    std::vector<int32_t> sums(static_cast<size_t>(2 * blocks));
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        const Oracle& o = want[t * rows + r];
        INFO("seed ", seed, " path ", label(isa), " ", type_name(type), " rows ", rows, " cols ",
             cols, " tokens ", n, std::string(extreme ? " extreme" : ""), " at token ", t, " row ",
             r);
        int8_block_sums(w, x, t, r, sums.data());
        REQUIRE(sums == o.sums);
        const float got = y[t * rows + r];
        REQUIRE(std::fabs(static_cast<double>(got) - o.exact) <= bound(blocks, o.magnitude));
        // A row is computed the same way whichever thread runs it.
        REQUIRE(std::memcmp(&got, &y_threads[t * rows + r], sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("int8 gemm matches the oracle on every path for edge shapes of every type") {
  const std::vector<int64_t> token_counts = {1, 2, 3, 4, 5, 9};
  // Rows below, at and above the thread split's grain (16) and its threshold (64).
  const std::vector<int64_t> row_counts = {1, 3, 16, 17, 65};
  uint32_t seed = 7100;
  for (FloatType type : {FloatType::kQ4_K, FloatType::kQ5_K, FloatType::kQ6_K}) {
    for (int64_t cols : {256, 512, 2048}) {  // one super-block, two, many
      for (int64_t rows : row_counts) {
        for (int64_t n : token_counts) check_shape(type, rows, cols, n, ++seed, false);
      }
    }
  }
  for (int64_t cols : {32, 64, 96, 288, 2048}) {  // Q8_0: odd and even block counts
    for (int64_t rows : row_counts) {
      for (int64_t n : token_counts) check_shape(FloatType::kQ8_0, rows, cols, n, ++seed, false);
    }
  }
}

TEST_CASE("int8 gemm keeps exact sums at the largest codes scales and activations") {
  uint32_t seed = 7900;
  for (FloatType type : {FloatType::kQ4_K, FloatType::kQ5_K, FloatType::kQ6_K, FloatType::kQ8_0}) {
    for (int64_t n : {1, 4, 5}) check_shape(type, 17, 512, n, ++seed, true);
  }
}

TEST_CASE("int8 activations round each block to its scale and sum every 16 values") {
  std::mt19937 rng(8100);
  for (FloatType type : {FloatType::kQ8_0, FloatType::kQ6_K}) {
    const int64_t cols = 512;
    Int8Activations x = make_int8_activations(type, 3, cols);
    std::vector<float> floats = random_activations(3, cols, x.block, rng, false);
    floats[5] = 1e30f;  // one block dominated by a huge value
    quantize_int8_activations(floats.data(), 3, x);
    CHECK(x.tokens == 3);
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t b = 0; b < cols / x.block; ++b) {
        float amax = 0;
        for (int64_t i = 0; i < x.block; ++i) {
          amax = std::max(amax, std::fabs(floats[t * cols + b * x.block + i]));
        }
        const float d = x.token_scales(t)[b];
        INFO(type_name(type), " token ", t, " block ", b);
        CHECK(d == amax / 127.0f);
        for (int64_t i = 0; i < x.block; ++i) {
          const int q = x.token_values(t)[b * x.block + i];
          const double v = floats[t * cols + b * x.block + i];
          REQUIRE(std::abs(q) <= 127);
          // Rounded to the nearest step of d (the step's half, and the float error of x / d).
          REQUIRE(std::fabs(v - static_cast<double>(d) * q) <= 0.5 * d * (1 + 4 * kEps) + 1e-30);
        }
      }
      if (x.block == 256) {
        for (int64_t g = 0; g < cols / 16; ++g) {
          int sum = 0;
          for (int i = 0; i < 16; ++i) sum += x.token_values(t)[16 * g + i];
          REQUIRE(x.token_sums(t)[g] == sum);
        }
      }
    }
  }
}

TEST_CASE("a linear layer on the int8 gemm runs more tokens than its buffers hold in passes") {
  std::mt19937 rng(8300);
  for (FloatType type : {FloatType::kQ6_K, FloatType::kQ8_0}) {
    const int64_t rows = 70, cols = 512, n = 7;
    const std::vector<uint8_t> weights = random_weights(type, rows, cols, rng, false);
    const FloatMatrix w{type, rows, cols, weights.data()};
    Int8Activations x = make_int8_activations(type, n, cols);
    const std::vector<float> floats = random_activations(n, cols, x.block, rng, false);
    quantize_int8_activations(floats.data(), n, x);
    std::vector<float> want(static_cast<size_t>(n * rows));
    int8_gemm(w, x, want.data(), nullptr);
    // Room for 3 tokens per pass: passes of 3, 3 and 1. (Q8_0 needs the int8 switch.)
    setenv("SHERRY_Q8_0_ACTIVATIONS", "int8", 1);
    LinearLayer layer = LinearLayer::from_float(w, nullptr, 3);
    unsetenv("SHERRY_Q8_0_ACTIVATIONS");
    CHECK(layer.kernel_name().starts_with("int8_gemm_" + type_name(type)));
    std::vector<float> got(want.size(), std::nanf(""));
    layer.forward(floats.data(), n, got.data());
    INFO(type_name(type));
    CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("the int8 gemm path follows the jit isa cap like the float path") {
  set_float_kernels_isa(std::nullopt);
  {
    MaxIsa cap(ir::Isa::kSsse3);
    CHECK(std::string(int8_gemm_path(active_float_isa())) == "scalar");
  }
  {
    MaxIsa cap(ir::Isa::kScalar);
    CHECK(std::string(int8_gemm_path(active_float_isa())) == "scalar");
  }
  if (float_isa_runs_here(FloatIsa::kAvx2)) {
    MaxIsa cap(ir::Isa::kAvx2);
    CHECK(std::string(int8_gemm_path(active_float_isa())) == "avx2");
  }
  if (float_isa_runs_here(FloatIsa::kAvx512)) {
    MaxIsa cap(ir::Isa::kAvx512bw);  // AVX-512BW without VNNI: the AVX2 byte products
    CHECK(std::string(int8_gemm_path(active_float_isa())) == "avx2");
  }
  if (float_isa_runs_here(FloatIsa::kAvx512Vnni)) {
    MaxIsa cap(ir::Isa::kAvx512vbmi);
    CHECK(std::string(int8_gemm_path(active_float_isa())) == "avx512vnni");
  }
}

}  // namespace
}  // namespace sherry::runtime
