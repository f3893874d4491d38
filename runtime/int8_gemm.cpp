// The int8 GEMM's activations, its scalar reference (the oracle of the SIMD paths: plain integer
// loops over the documented layouts), the choice of path and the split across threads; the
// SIMD paths are in int8_gemm_avx2.cpp and int8_gemm_avx512vnni.cpp.
#include "runtime/int8_gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/error.h"
#include "core/half.h"
#include "jit/path_log.h"
#include "runtime/int8_gemm_impl.h"
#include "runtime/k_quants.h"

namespace sherry::runtime {
namespace {

// ---- the scalar reference: per block the int32 sums (S, M), then one float combination ----

// Q4_K (and Q5_K: the same with a fifth bit in `code`).
template <class BlockType, int (*code)(const BlockType&, int)>
struct ScalarK4 {
  using Block = BlockType;
  static constexpr int64_t kWeights = kKQuantBlockWeights;
  static void sums(const Block& w, const int8_t* x, const int16_t* sums16, int32_t& s, int32_t& m) {
    uint8_t sc[8], mins[8];
    unpack_k_scales(w.scales, sc, mins);
    s = 0;
    m = 0;
    for (int j = 0; j < 8; ++j) {
      int32_t dot = 0;
      for (int i = 32 * j; i < 32 * j + 32; ++i) dot += code(w, i) * x[i];
      s += sc[j] * dot;
      m += mins[j] * (sums16[2 * j] + sums16[2 * j + 1]);
    }
  }
  static float combine(const Block& w, float x_scale, int32_t s, int32_t m) {
    const float d = x_scale * fp16_to_float(w.d);
    const float dmin = x_scale * fp16_to_float(w.dmin);
    return d * static_cast<float>(s) - dmin * static_cast<float>(m);
  }
};
using ScalarQ4_K = ScalarK4<Q4_KBlock, q4_k_code>;
using ScalarQ5_K = ScalarK4<Q5_KBlock, q5_k_code>;

struct ScalarQ6_K {
  using Block = Q6_KBlock;
  static constexpr int64_t kWeights = kKQuantBlockWeights;
  static void sums(const Block& w, const int8_t* x, const int16_t* sums16, int32_t& s, int32_t& m) {
    s = 0;
    m = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t dot = 0;
      for (int i = 16 * j; i < 16 * j + 16; ++i) dot += q6_k_code(w, i) * x[i];
      s += w.scales[j] * dot;
      m += w.scales[j] * sums16[j];
    }
  }
  static float combine(const Block& w, float x_scale, int32_t s, int32_t m) {
    const float d = x_scale * fp16_to_float(w.d);
    return d * static_cast<float>(s - 32 * m);
  }
};

struct ScalarQ8_0 {
  using Block = Q8_0Block;
  static constexpr int64_t kWeights = kQ8_0BlockWeights;
  static void sums(const Block& w, const int8_t* x, const int16_t*, int32_t& s, int32_t& m) {
    s = 0;
    m = 0;
    for (int i = 0; i < 32; ++i) s += w.q[i] * x[i];
  }
  static float combine(const Block& w, float x_scale, int32_t s, int32_t) {
    const float d = x_scale * fp16_to_float(w.d);
    return d * static_cast<float>(s);
  }
};

template <class Type>
struct ScalarRow {
  using Block = typename Type::Block;
  static float dot(const void* row, const Int8Activations& x, int64_t t) {
    const auto* blocks = static_cast<const Block*>(row);
    float acc = 0.0f;
    for (int64_t b = 0; b < x.cols / Type::kWeights; ++b) {
      const int8_impl::BlockOperands<1> a(x, t, b);
      int32_t s = 0, m = 0;
      Type::sums(blocks[b], a.values[0], a.sums[0], s, m);
      acc += Type::combine(blocks[b], a.scales[0], s, m);
    }
    return acc;
  }
  template <int kTokens>
  static void run(const void* row, const Int8Activations& x, int64_t t0, float* out,
                  int64_t out_stride) {
    for (int j = 0; j < kTokens; ++j) out[j * out_stride] = dot(row, x, t0 + j);
  }
  static void sums(const void* row, const Int8Activations& x, int64_t t, int32_t* out) {
    const auto* blocks = static_cast<const Block*>(row);
    for (int64_t b = 0; b < x.cols / Type::kWeights; ++b) {
      const int8_impl::BlockOperands<1> a(x, t, b);
      Type::sums(blocks[b], a.values[0], a.sums[0], out[2 * b], out[2 * b + 1]);
    }
  }
};

using ScalarDispatch = int8_impl::TypeDispatch<ScalarRow<ScalarQ4_K>, ScalarRow<ScalarQ5_K>,
                                               ScalarRow<ScalarQ6_K>, ScalarRow<ScalarQ8_0>>;

}  // namespace

const int8_impl::Int8KernelTable int8_impl::kScalarKernels = {"scalar", ScalarDispatch::gemm_rows,
                                                              ScalarDispatch::block_sums};

namespace {

const int8_impl::Int8KernelTable& table(FloatIsa isa) {
  switch (isa) {
    case FloatIsa::kGeneric:
      return int8_impl::kScalarKernels;
#if defined(__x86_64__)
    case FloatIsa::kAvx2:
    case FloatIsa::kAvx512:
      return int8_impl::kAvx2Kernels;
    case FloatIsa::kAvx512Vnni:
      return int8_impl::kAvx512VnniKernels;
#else
    case FloatIsa::kAvx2:
    case FloatIsa::kAvx512:
    case FloatIsa::kAvx512Vnni:
      break;  // never chosen off x86-64
#endif
  }
  return int8_impl::kScalarKernels;
}

// The active path's table; its name goes to SHERRY_PATH_LOG the first time each path runs.
const int8_impl::Int8KernelTable& active_kernels() {
  static std::atomic<const int8_impl::Int8KernelTable*> logged{nullptr};
  const int8_impl::Int8KernelTable& kernels = table(active_float_isa());
  if (logged.load(std::memory_order_relaxed) != &kernels) {
    jit::log_path_used("int8", kernels.name);
    logged.store(&kernels, std::memory_order_relaxed);
  }
  return kernels;
}

void check_operands(const FloatMatrix& w, const Int8Activations& x) {
  SHERRY_CHECK(runs_on_int8_gemm(w.type), "int8_gemm: {} weights", to_string(w.type));
  SHERRY_CHECK(x.cols == w.cols && x.block == block_weights(w.type),
               "int8_gemm: activations of {} columns in blocks of {} for {} weights of {}", x.cols,
               x.block, to_string(w.type), w.cols);
}

}  // namespace

bool runs_on_int8_gemm(FloatType type) {
  switch (type) {
    case FloatType::kQ8_0:
    case FloatType::kQ4_K:
    case FloatType::kQ5_K:
    case FloatType::kQ6_K:
      return true;
    case FloatType::kF32:
    case FloatType::kF16:
    case FloatType::kBF16:
      return false;
  }
  return false;
}

Int8Activations make_int8_activations(FloatType type, int64_t capacity, int64_t cols) {
  SHERRY_CHECK(runs_on_int8_gemm(type) && cols % block_weights(type) == 0 && capacity > 0,
               "make_int8_activations: {} × {} for {}", capacity, cols, to_string(type));
  Int8Activations x;
  x.capacity = capacity;
  x.cols = cols;
  x.block = block_weights(type);
  x.blocks = cols / x.block;
  x.values.resize(static_cast<size_t>(capacity * cols));
  x.scales.resize(static_cast<size_t>(capacity * x.blocks));
  if (x.block == kKQuantBlockWeights) x.sums.resize(static_cast<size_t>(capacity * (cols / 16)));
  return x;
}

void quantize_int8_activations(const float* x, int64_t n, Int8Activations& out) {
  SHERRY_CHECK(n <= out.capacity, "quantize_int8_activations: {} tokens, room for {}", n,
               out.capacity);
  out.tokens = n;
  const int64_t blocks = out.blocks;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + t * out.cols + b * out.block;
      int8_t* q = out.values.data() + t * out.cols + b * out.block;
      float amax = 0.0f;
      for (int64_t i = 0; i < out.block; ++i) amax = std::max(amax, std::fabs(xb[i]));
      const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
      out.scales[t * blocks + b] = amax / 127.0f;
      for (int64_t i = 0; i < out.block; ++i) {
        // fmax/fmin first: NaN becomes −127 instead of an undefined conversion.
        const float v = std::fmin(std::fmax(xb[i] * inverse, -127.0f), 127.0f);
        q[i] = static_cast<int8_t>(std::lrint(v));
      }
      if (!out.sums.empty()) {
        int16_t* sums = out.sums.data() + t * (out.cols / 16) + b * (out.block / 16);
        for (int64_t g = 0; g < out.block / 16; ++g) {
          int sum = 0;
          for (int i = 0; i < 16; ++i) sum += q[16 * g + i];
          sums[g] = static_cast<int16_t>(sum);
        }
      }
    }
  }
}

void int8_gemm(const FloatMatrix& w, const Int8Activations& x, float* y, ThreadPool* pool) {
  check_operands(w, x);
  const auto gemm_rows = active_kernels().gemm_rows;
  if (pool == nullptr || pool->size() == 1 || w.rows < 64) {
    gemm_rows(w, x, y, 0, w.rows);
    return;
  }
  pool->parallel_for(w.rows, 16,
                     [&](int64_t begin, int64_t end, int) { gemm_rows(w, x, y, begin, end); });
}

const char* int8_gemm_path(FloatIsa isa) {
  return table(isa).name;
}

void int8_block_sums(const FloatMatrix& w, const Int8Activations& x, int64_t token, int64_t row,
                     int32_t* out) {
  check_operands(w, x);
  SHERRY_CHECK(token < x.tokens && row < w.rows, "int8_block_sums: token {} row {}", token, row);
  active_kernels().block_sums(w, x, token, row, out);
}

}  // namespace sherry::runtime
