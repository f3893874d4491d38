// The float kernels' dispatch, their portable versions and the primitives without SIMD versions;
// the AVX2 and AVX-512 versions are in float_kernels_avx2.cpp and float_kernels_avx512.cpp.
#include "runtime/float_kernels.h"

#include "core/activation_quant.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/half.h"
#include "jit/cpu_detect.h"
#include "jit/path_log.h"
#include "runtime/float_kernels_impl.h"
#include "runtime/k_quants.h"

namespace sherry::runtime {
namespace {

inline float bf16_value(uint16_t bits) {
  return bf16_to_float(bits);
}

// ---- portable versions ----

template <FloatType kType>
float load_scalar(const void* base, int64_t i) {
  if constexpr (kType == FloatType::kF32) return static_cast<const float*>(base)[i];
  if constexpr (kType == FloatType::kF16)
    return fp16_to_float(static_cast<const uint16_t*>(base)[i]);
  if constexpr (kType == FloatType::kBF16) return bf16_value(static_cast<const uint16_t*>(base)[i]);
}

template <FloatType kType>
void gemm_rows_generic(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                       int64_t r1) {
  const int64_t cols = w.cols;
  for (int64_t m = r0; m < r1; ++m) {
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * cols;
      float acc[8] = {};
      int64_t k = 0;
      for (; k + 8 <= cols; k += 8) {
        for (int j = 0; j < 8; ++j)
          acc[j] += load_scalar<kType>(w.data, m * cols + k + j) * xt[k + j];
      }
      for (; k < cols; ++k) acc[0] += load_scalar<kType>(w.data, m * cols + k) * xt[k];
      y[t * w.rows + m] =
          ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  }
}

void gemm_rows_q8_0_generic(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                            int64_t r1) {
  const int64_t blocks = w.cols / kQ8_0BlockWeights;
  const auto* base = static_cast<const Q8_0Block*>(w.data);
  for (int64_t m = r0; m < r1; ++m) {
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const Q8_0Block& block = base[m * blocks + b];
        float sum = 0.0f;
        for (int i = 0; i < 32; ++i) sum += static_cast<float>(block.q[i]) * xt[b * 32 + i];
        acc += fp16_to_float(block.d) * sum;
      }
      y[t * w.rows + m] = acc;
    }
  }
}

float dot_generic(const float* a, const float* b, int64_t n) {
  float acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
  }
  for (; k < n; ++k) acc[0] += a[k] * b[k];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

float dot_f16_generic(const float* a, const uint16_t* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t k = 0; k < n; ++k) acc += a[k] * fp16_to_float(b[k]);
  return acc;
}

void axpy_generic(float alpha, const float* x, int64_t n, float* y) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * x[k];
}

void axpy_f16_generic(float alpha, const uint16_t* x, int64_t n, float* y) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * fp16_to_float(x[k]);
}

void to_fp16_generic(const float* x, int64_t n, uint16_t* out) {
  for (int64_t k = 0; k < n; ++k) out[k] = float_to_fp16(x[k]);
}

void swiglu_generic(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t k = 0; k < n; ++k) {
    const float g = gate[k];
    out[k] = g / (1.0f + std::exp(-g)) * up[k];
  }
}

void softmax_generic(float* x, int64_t n) {
  float max = x[0];
  for (int64_t k = 1; k < n; ++k) max = std::max(max, x[k]);
  float sum = 0.0f;
  for (int64_t k = 0; k < n; ++k) {
    x[k] = std::exp(x[k] - max);
    sum += x[k];
  }
  const float inv = 1.0f / sum;
  for (int64_t k = 0; k < n; ++k) x[k] *= inv;
}

void gemm_rows_any_generic(const FloatMatrix& w, const float* x, int64_t n, float* y, int64_t r0,
                           int64_t r1) {
  switch (w.type) {
    case FloatType::kF32:
      return gemm_rows_generic<FloatType::kF32>(w, x, n, y, r0, r1);
    case FloatType::kF16:
      return gemm_rows_generic<FloatType::kF16>(w, x, n, y, r0, r1);
    case FloatType::kBF16:
      return gemm_rows_generic<FloatType::kBF16>(w, x, n, y, r0, r1);
    case FloatType::kQ8_0:
      return gemm_rows_q8_0_generic(w, x, n, y, r0, r1);
    case FloatType::kQ4_K:
    case FloatType::kQ5_K:
    case FloatType::kQ6_K:
      return float_impl::gemm_rows_k_quant(w, x, n, y, r0, r1);
  }
}

// One K-quant super-block (`bytes` long, at `block`) to 256 floats.
void dequantize_k_block(FloatType type, const void* block, float* out) {
  switch (type) {
    case FloatType::kQ4_K:
      return dequantize_row_q4_k(static_cast<const Q4_KBlock*>(block), kKQuantBlockWeights, out);
    case FloatType::kQ5_K:
      return dequantize_row_q5_k(static_cast<const Q5_KBlock*>(block), kKQuantBlockWeights, out);
    case FloatType::kQ6_K:
      return dequantize_row_q6_k(static_cast<const Q6_KBlock*>(block), kKQuantBlockWeights, out);
    default:
      SHERRY_CHECK(false, "dequantize_k_block: {} is not a K-quant", to_string(type));
  }
}

}  // namespace

void float_impl::gemm_rows_k_quant(const FloatMatrix& w, const float* x, int64_t n, float* y,
                                   int64_t r0, int64_t r1) {
  const int64_t blocks = w.cols / kKQuantBlockWeights;
  const int64_t block_bytes = w.row_bytes() / blocks;
  const auto* base = static_cast<const uint8_t*>(w.data);
  float values[kKQuantBlockWeights];
  for (int64_t m = r0; m < r1; ++m) {
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        dequantize_k_block(w.type, base + (m * blocks + b) * block_bytes, values);
        for (int i = 0; i < kKQuantBlockWeights; ++i) acc += values[i] * xt[b * 256 + i];
      }
      y[t * w.rows + m] = acc;
    }
  }
}

const float_impl::FloatKernelTable float_impl::kGenericKernels = {
    gemm_rows_any_generic, dot_generic,       dot_f16_generic, axpy_generic,    axpy_f16_generic,
    to_fp16_generic,       quantize_token_i8, swiglu_generic,  softmax_generic,
};

namespace {

// ---- choosing the path ----

bool cpu_runs(FloatIsa isa) {
  switch (isa) {
    case FloatIsa::kGeneric:
      return true;
    case FloatIsa::kAvx2:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
#else
      return false;
#endif
    case FloatIsa::kAvx512:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
      return false;
#endif
    case FloatIsa::kAvx512Vnni:
#if defined(__x86_64__)
      return cpu_runs(FloatIsa::kAvx512) && __builtin_cpu_supports("avx512vnni");
#else
      return false;
#endif
  }
  return false;
}

// The best path at or below `limit` that the CPU runs (best first: avx512vnni, avx512, avx2,
// generic).
FloatIsa best_runnable(FloatIsa limit) {
  static const bool runs[] = {true, cpu_runs(FloatIsa::kAvx2), cpu_runs(FloatIsa::kAvx512),
                              cpu_runs(FloatIsa::kAvx512Vnni)};
  for (int isa = static_cast<int>(limit); isa > 0; --isa) {
    if (runs[isa]) return static_cast<FloatIsa>(isa);
  }
  return FloatIsa::kGeneric;
}

// The best path the JIT's cap allows, before asking the CPU (float_kernels.h says why an
// unreadable cap gives the portable path).
FloatIsa cap_limit() {
  Result<std::optional<ir::Isa>> cap = jit::max_isa();
  if (!cap.ok()) return FloatIsa::kGeneric;
  if (!cap->has_value()) return FloatIsa::kAvx512Vnni;
  switch (**cap) {
    case ir::Isa::kScalar:
    case ir::Isa::kSsse3:
    case ir::Isa::kNeon:
    case ir::Isa::kDotprod:
      return FloatIsa::kGeneric;
    case ir::Isa::kAvx2:
    case ir::Isa::kAvx2Vnni:
      return FloatIsa::kAvx2;
    case ir::Isa::kAvx512bw:  // its JIT path needs no VNNI
      return FloatIsa::kAvx512;
    case ir::Isa::kAvx512vbmi:
      return FloatIsa::kAvx512Vnni;
  }
  return FloatIsa::kGeneric;
}

constexpr int kNotForced = -1;
std::atomic<int> forced_isa{kNotForced};
// The automatic choice: (jit::max_isa_generation() + 1) << 8 | FloatIsa, 0 before the first.
std::atomic<uint64_t> automatic_isa{0};

const float_impl::FloatKernelTable& kernels() {
  switch (active_float_isa()) {
    case FloatIsa::kGeneric:
      return float_impl::kGenericKernels;
#if defined(__x86_64__)
    case FloatIsa::kAvx2:
      return float_impl::kAvx2Kernels;
    case FloatIsa::kAvx512:
    case FloatIsa::kAvx512Vnni:  // VNNI serves the int8 GEMM only
      return float_impl::kAvx512Kernels;
#else
    case FloatIsa::kAvx2:
    case FloatIsa::kAvx512:
    case FloatIsa::kAvx512Vnni:
      break;  // never chosen: cpu_runs says no
#endif
  }
  return float_impl::kGenericKernels;
}

struct GemmArgs {
  decltype(float_impl::FloatKernelTable::gemm_rows) gemm_rows;
  const FloatMatrix* w;
  const float* x;
  int64_t n;
  float* y;
};

void gemm_range(const GemmArgs& a, int64_t r0, int64_t r1) {
  a.gemm_rows(*a.w, a.x, a.n, a.y, r0, r1);
}

}  // namespace

int64_t FloatMatrix::row_bytes() const {
  switch (type) {
    case FloatType::kF32:
      return cols * 4;
    case FloatType::kF16:
    case FloatType::kBF16:
      return cols * 2;
    case FloatType::kQ8_0:
      return cols / kQ8_0BlockWeights * static_cast<int64_t>(sizeof(Q8_0Block));
    case FloatType::kQ4_K:
      return cols / kKQuantBlockWeights * static_cast<int64_t>(sizeof(Q4_KBlock));
    case FloatType::kQ5_K:
      return cols / kKQuantBlockWeights * static_cast<int64_t>(sizeof(Q5_KBlock));
    case FloatType::kQ6_K:
      return cols / kKQuantBlockWeights * static_cast<int64_t>(sizeof(Q6_KBlock));
  }
  return 0;
}

const char* to_string(FloatType type) {
  switch (type) {
    case FloatType::kF32:
      return "f32";
    case FloatType::kF16:
      return "f16";
    case FloatType::kBF16:
      return "bf16";
    case FloatType::kQ8_0:
      return "q8_0";
    case FloatType::kQ4_K:
      return "q4_k";
    case FloatType::kQ5_K:
      return "q5_k";
    case FloatType::kQ6_K:
      return "q6_k";
  }
  return "?";
}

int64_t block_weights(FloatType type) {
  switch (type) {
    case FloatType::kF32:
    case FloatType::kF16:
    case FloatType::kBF16:
      return 1;
    case FloatType::kQ8_0:
      return kQ8_0BlockWeights;
    case FloatType::kQ4_K:
    case FloatType::kQ5_K:
    case FloatType::kQ6_K:
      return kKQuantBlockWeights;
  }
  return 1;
}

std::optional<FloatType> float_type_of(gguf::TensorType type) {
  switch (type) {
    case gguf::TensorType::kF32:
      return FloatType::kF32;
    case gguf::TensorType::kF16:
      return FloatType::kF16;
    case gguf::TensorType::kBF16:
      return FloatType::kBF16;
    case gguf::TensorType::kQ8_0:
      return FloatType::kQ8_0;
    case gguf::TensorType::kQ4_K:
      return FloatType::kQ4_K;
    case gguf::TensorType::kQ5_K:
      return FloatType::kQ5_K;
    case gguf::TensorType::kQ6_K:
      return FloatType::kQ6_K;
    default:
      return std::nullopt;
  }
}

void quantize_q8_0_row(const float* x, int64_t cols, Q8_0Block* out) {
  for (int64_t b = 0; b < cols / kQ8_0BlockWeights; ++b) {
    const float* xb = x + b * kQ8_0BlockWeights;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = float_to_fp16(d);
    for (int i = 0; i < 32; ++i) out[b].q[i] = static_cast<int8_t>(std::lround(xb[i] * inv));
  }
}

void FloatMatrix::row_to_float(int64_t row, float* out) const {
  const void* row_data = static_cast<const uint8_t*>(data) + row * row_bytes();
  switch (type) {
    case FloatType::kQ4_K:
      return dequantize_row_q4_k(static_cast<const Q4_KBlock*>(row_data), cols, out);
    case FloatType::kQ5_K:
      return dequantize_row_q5_k(static_cast<const Q5_KBlock*>(row_data), cols, out);
    case FloatType::kQ6_K:
      return dequantize_row_q6_k(static_cast<const Q6_KBlock*>(row_data), cols, out);
    default:
      break;
  }
  if (type == FloatType::kQ8_0) {
    const int64_t blocks = cols / kQ8_0BlockWeights;
    const auto* base = static_cast<const Q8_0Block*>(data) + row * blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const float d = fp16_to_float(base[b].d);
      for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<float>(base[b].q[i]);
    }
    return;
  }
  for (int64_t k = 0; k < cols; ++k) {
    const int64_t i = row * cols + k;
    switch (type) {
      case FloatType::kF32:
        out[k] = load_scalar<FloatType::kF32>(data, i);
        break;
      case FloatType::kF16:
        out[k] = load_scalar<FloatType::kF16>(data, i);
        break;
      case FloatType::kBF16:
        out[k] = load_scalar<FloatType::kBF16>(data, i);
        break;
      case FloatType::kQ8_0:
      case FloatType::kQ4_K:
      case FloatType::kQ5_K:
      case FloatType::kQ6_K:
        break;  // handled above
    }
  }
}

void float_gemm(const FloatMatrix& w, const float* x, int64_t n, float* y, ThreadPool* pool) {
  const GemmArgs args{kernels().gemm_rows, &w, x, n, y};
  if (pool == nullptr || pool->size() == 1 || w.rows < 64) {
    gemm_range(args, 0, w.rows);
    return;
  }
  // One pointer captured: std::function keeps it inline, so no allocation per call.
  const GemmArgs* a = &args;
  pool->parallel_for(w.rows, 16,
                     [a](int64_t begin, int64_t end, int) { gemm_range(*a, begin, end); });
}

float dot(const float* a, const float* b, int64_t n) {
  return kernels().dot(a, b, n);
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
  return kernels().dot_f16(a, b, n);
}

void axpy(float alpha, const float* x, int64_t n, float* y) {
  return kernels().axpy(alpha, x, n, y);
}

void axpy_f16(float alpha, const uint16_t* x, int64_t n, float* y) {
  return kernels().axpy_f16(alpha, x, n, y);
}

void to_fp16(const float* x, int64_t n, uint16_t* out) {
  return kernels().to_fp16(x, n, out);
}

float quantize_i8(const float* x, int64_t n, int8_t* q) {
  return kernels().quantize_i8(x, n, q);
}

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  const float mean_square = dot(x, x, n) / static_cast<float>(n);
  const float inv = 1.0f / std::sqrt(mean_square + eps);
  for (int64_t k = 0; k < n; ++k) out[k] = x[k] * inv * weight[k];
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  return kernels().swiglu(gate, up, n, out);
}

void softmax(float* x, int64_t n) {
  return kernels().softmax(x, n);
}

const char* to_string(FloatIsa isa) {
  switch (isa) {
    case FloatIsa::kGeneric:
      return "generic";
    case FloatIsa::kAvx2:
      return "avx2";
    case FloatIsa::kAvx512:
      return "avx512";
    case FloatIsa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "generic";
}

bool float_isa_runs_here(FloatIsa isa) {
  return best_runnable(isa) == isa;
}

FloatIsa active_float_isa() {
  const int forced = forced_isa.load(std::memory_order_relaxed);
  if (forced != kNotForced) return static_cast<FloatIsa>(forced);
  // A racing set_max_isa at worst stores a choice under the old generation, which the next call
  // sees as stale.
  const uint64_t key = jit::max_isa_generation() + 1;
  const uint64_t cached = automatic_isa.load(std::memory_order_relaxed);
  if (cached >> 8 == key) return static_cast<FloatIsa>(cached & 0xff);
  const FloatIsa isa = best_runnable(cap_limit());
  jit::log_path_used("float", to_string(isa));  // rare: only when the cap changed
  automatic_isa.store(key << 8 | static_cast<uint64_t>(isa), std::memory_order_relaxed);
  return isa;
}

const char* float_kernels_isa() {
  return to_string(active_float_isa());
}

void set_float_kernels_isa(std::optional<FloatIsa> isa) {
  if (isa) jit::log_path_used("float", to_string(best_runnable(*isa)));
  forced_isa.store(isa ? static_cast<int>(best_runnable(*isa)) : kNotForced,
                   std::memory_order_relaxed);
}

}  // namespace sherry::runtime
