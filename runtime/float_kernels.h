// The float work of the transformer outside the quantized linear layers: a GEMM over F32, F16 or
// BF16 weights left in the mapped file (the float path and the LM head), and the vector
// primitives of norms, attention and the MLP. Each has a portable version, an AVX2 one and an
// AVX-512 one (runtime/float_kernels_impl.h), chosen from the CPU's features within the JIT's
// ISA cap (SHERRY_MAX_ISA), so one AVX-512 machine runs every float path below its best too.
// The int8-activation GEMM of the Q8_0 and K-quant head (runtime/int8_gemm.h) takes its path
// from the same choice.
#pragma once

#include <cstdint>
#include <optional>

#include "core/thread_pool.h"
#include "runtime/gguf/gguf_types.h"

namespace sherry::runtime {

enum class FloatType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,  // llama.cpp's Q8_0: blocks of 32 int8 with one fp16 scale (an 8-bit LM head)
  kQ4_K,  // llama.cpp's K-quants, super-blocks of 256 weights (runtime/k_quants.h)
  kQ5_K,
  kQ6_K,
};

// The FloatType a GGUF tensor of this type is read as in place (F32, F16, BF16, Q8_0, Q4_K, Q5_K,
// Q6_K); nullopt for every other type.
std::optional<FloatType> float_type_of(gguf::TensorType type);

// GGUF's Q8_0 block: value = d · q[i].
struct Q8_0Block {
  uint16_t d;  // fp16
  int8_t q[32];
};
static_assert(sizeof(Q8_0Block) == 34, "Q8_0 block must be 34 bytes");
inline constexpr int64_t kQ8_0BlockWeights = 32;

// Quantizes `cols` floats (a multiple of 32) as llama.cpp does: d = amax / 127, q = round(x / d).
void quantize_q8_0_row(const float* x, int64_t cols, Q8_0Block* out);

// "f32", "f16", "bf16", "q8_0", "q4_k", "q5_k", "q6_k" (kernel names, tool output).
const char* to_string(FloatType type);
// Weights per block of a quantized type (32 for Q8_0, 256 for the K-quants), 1 for the others:
// cols must be a multiple of it.
int64_t block_weights(FloatType type);

// A rows × cols row-major matrix in its storage type (not owned: a view into the mapped file).
struct FloatMatrix {
  FloatType type = FloatType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;

  // Row `row` converted to floats.
  void row_to_float(int64_t row, float* out) const;
  int64_t row_bytes() const;
};

// y (n × w.rows) = x (n × w.cols) · wᵀ, token-major; rows split across the pool's threads.
// K-quant weights are dequantized a super-block at a time on the portable path whatever the
// ISA (LinearLayer runs them on int8_gemm instead; this path is the float-activation reference).
void float_gemm(const FloatMatrix& w, const float* x, int64_t n, float* y, ThreadPool* pool);

float dot(const float* a, const float* b, int64_t n);
float dot_f16(const float* a, const uint16_t* b, int64_t n);  // b in fp16
void axpy(float alpha, const float* x, int64_t n, float* y);  // y += alpha · x
void axpy_f16(float alpha, const uint16_t* x, int64_t n, float* y);
void to_fp16(const float* x, int64_t n, uint16_t* out);
// One token's int8 quantization, bit for bit core's quantize_token_i8 (the activations of the
// quantized layers): returns the scale.
float quantize_i8(const float* x, int64_t n, int8_t* q);

// out = x / sqrt(mean(x²) + eps) · weight
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);
// out = silu(gate) · up
void swiglu(const float* gate, const float* up, int64_t n, float* out);
// In place, numerically stable.
void softmax(float* x, int64_t n);

// The versions of the primitives above, each accepted when the CPU has every feature it lists.
enum class FloatIsa : uint8_t {
  kGeneric,     // portable C++
  kAvx2,        // AVX2, FMA, F16C
  kAvx512,      // AVX-512 F/BW/VL/DQ, FMA, F16C
  kAvx512Vnni,  // kAvx512 and AVX-512 VNNI: the float primitives of kAvx512, vpdpbusd int8 GEMM
};
// "generic", "avx2", "avx512", "avx512vnni".
const char* to_string(FloatIsa isa);
// Whether this build and CPU run the path (kGeneric always does).
bool float_isa_runs_here(FloatIsa isa);

// The path that runs. Unless forced, the best one the CPU runs within jit::max_isa()'s cap: a cap
// of scalar, ssse3 or an AArch64 path gives kGeneric, avx2 at most kAvx2, avx512bw at most
// kAvx512 and avx512vbmi (whose JIT path requires VNNI too) at most kAvx512Vnni. An unknown
// SHERRY_MAX_ISA gives kGeneric: the JIT reports it as an error at dispatch and then runs its
// safest path, and the float primitives, which return no errors, take their safest path too. Cached
// per jit::max_isa_generation(), so it follows jit::set_max_isa at the cost of two atomic loads per
// call.
FloatIsa active_float_isa();
// to_string(active_float_isa()), for tool output and kernel names.
const char* float_kernels_isa();
// Tests force a path (nullopt: the automatic choice again). The cap does not apply to a forced
// path; one the CPU lacks falls back to the best path below it that the CPU runs.
void set_float_kernels_isa(std::optional<FloatIsa> isa);

}  // namespace sherry::runtime
