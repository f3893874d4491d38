// The GEMV/GEMM of the quantized LM head (and of a token embedding used as the head): Q4_K, Q5_K,
// Q6_K or Q8_0 weights left in the mapped file (a FloatMatrix) against activations quantized to
// int8 per block, with integer block sums and one float multiply-add per block.
//
// Activation blocks follow the weights' blocks. For the K-quants, 256 values per block with one
// float scale (llama.cpp's Q8_K idea) plus the int16 sum of every 16 values, which the
// sub-block minimums (Q4_K, Q5_K) and the +32 code offset (Q6_K) need. For Q8_0, 32 values per
// block: any row length Q8_0 allows (a multiple of 32) runs, the rounding of the activations is
// eight times finer than at 256, and it costs nothing, since each 32-weight block has its own
// scale to multiply by anyway (llama.cpp's Q8_0 × Q8_0 dot product does the same).
//
// Paths, chosen with the float kernels' (active_float_isa, so SHERRY_MAX_ISA caps them too): the
// portable scalar reference; AVX2 (vpmaddubsw, vpmaddwd; also what kAvx512 runs: AVX-512BW adds
// no byte dot product); AVX-512 VNNI (vpmaddubsw + vpdpwssd for the K-quants, vpdpbusd for
// Q8_0). Every path computes the same int32 block sums (int8_block_sums) and differs only in
// the order of the float operations that scale and add them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "runtime/float_kernels.h"

namespace sherry::runtime {

// Activations quantized for one weight type: each token's cols floats cut into blocks of
// `block` (256 for the K-quants, 32 for Q8_0), each stored as q = round(x / d) ∈ [−127, 127] with
// d = max|x| / 127 (0 for an all-zero block, whose q are 0).
struct Int8Activations {
  int64_t tokens = 0;    // tokens quantized by the last call
  int64_t capacity = 0;  // tokens the buffers hold
  int64_t cols = 0;
  int64_t block = 0;
  int64_t blocks = 0;          // cols / block, kept so the kernels never divide
  std::vector<int8_t> values;  // capacity × cols
  std::vector<float> scales;   // capacity × blocks
  std::vector<int16_t> sums;   // capacity × cols / 16, block 256 only: Σ of each 16 values

  const int8_t* token_values(int64_t t) const { return values.data() + t * cols; }
  const float* token_scales(int64_t t) const { return scales.data() + t * blocks; }
  const int16_t* token_sums(int64_t t) const { return sums.data() + t * (cols / 16); }
};

// Whether int8_gemm runs weights of this type (Q8_0 and the K-quants).
bool runs_on_int8_gemm(FloatType type);

// Buffers for up to `capacity` tokens of `cols` values for weights of `type` (runs_on_int8_gemm;
// cols a multiple of its block).
Int8Activations make_int8_activations(FloatType type, int64_t capacity, int64_t cols);

// Quantizes n ≤ out.capacity tokens (n × out.cols floats) into `out`; allocates nothing.
void quantize_int8_activations(const float* x, int64_t n, Int8Activations& out);

// y (x.tokens × w.rows) = x · wᵀ, token-major, for w of a type runs_on_int8_gemm and x made for
// it. Rows are split across the pool's threads; a row's result does not depend on the split.
void int8_gemm(const FloatMatrix& w, const Int8Activations& x, float* y, ThreadPool* pool);

// The implementation a float path runs: "scalar", "avx2" (kAvx2 and kAvx512) or "avx512vnni".
const char* int8_gemm_path(FloatIsa isa);

// The integer parts of row `row` · token `token` on the active path (the tests' oracle check):
// two int32 per weight block, (S, M), where for a block b with activation scale a:
//   Q4_K, Q5_K: S = Σ_j sc_j·Σ_i q_i·x_i, M = Σ_j m_j·Σ_i x_i, dot += (a·d)·S − (a·dmin)·M;
//   Q6_K:       S = Σ_j sc_j·Σ_i q_i·x_i with q ∈ [0, 63], M = Σ_j sc_j·Σ_i x_i,
//               dot += (a·d)·(S − 32·M);
//   Q8_0:       S = Σ_i q_i·x_i, M = 0, dot += (a·d)·S;
// j over the sub-blocks, i over a sub-block's weights, x the int8 activations.
// `out` holds 2 · w.cols / block_weights(w.type) values.
void int8_block_sums(const FloatMatrix& w, const Int8Activations& x, int64_t token, int64_t row,
                     int32_t* out);

}  // namespace sherry::runtime
