// How q/k/v/o/gate/up/down are quantized during training (embeddings, norms, head stay FP).
//   fp               the latent weight itself
//   sherry           Sparse-AbsMean 3:4 (core/sparse_absmean.h) + STE + Arenas:
//                    Y = X(αT)ᵀ + λ_t XWᵀ = X(αT + λ_t W)ᵀ
//   sherry-noarenas  the same with λ ≡ 0
//   absmean          BitNet b1.58 per group, the reference code's baseline: α = mean|W| over each
//                    group of group_size weights along K, W_q = α·t with t = sign(W) where
//                    |W| ≥ α/2, else 0
// Backward (straight-through estimator, no gradient through α or the ternary decision):
//   dL/dW = (1 + λ_t) · dYᵀX, the STE path plus the Arenas residual path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/weight_layout.h"

namespace sherry::train {

enum class QuantMethod : uint8_t { kFp, kSherry, kSherryNoArenas, kAbsmean };

std::string_view to_string(QuantMethod method);  // "fp" | "sherry" | "sherry-noarenas" | "absmean"
Result<QuantMethod> parse_quant_method(std::string_view text);

inline bool is_quantized(QuantMethod method) {
  return method != QuantMethod::kFp;
}
// λ actually used by a method: the Arenas schedule for sherry, 0 for the others.
inline double method_lambda(QuantMethod method, double scheduled_lambda) {
  return method == QuantMethod::kSherry ? scheduled_lambda : 0.0;
}

// Writes the weight the forward pass multiplies by (rows × cols). For kFp a copy of w.
// `layout` is used by the sherry methods and must be valid for the shape (internal check).
// ternary (rows × cols) and alpha (scale_count(layout) values, for every quantized method) are
// scratch the caller provides; after the call they hold the quantization.
template <class Real>
void effective_weight(QuantMethod method, const Real* w, int64_t rows, int64_t cols,
                      const WeightLayout& layout, double lambda, Real* out, int8_t* ternary,
                      float* alpha);

// The per-group AbsMean quantizer alone: per scale group of `layout` (its block grouping is
// ignored), α = mean|w| (accumulated in double) and t = sign(w) where |w| ≥ α/2 (α > 0), else 0.
void absmean_ternary(const float* w, int64_t rows, int64_t cols, const WeightLayout& layout,
                     int8_t* ternary, float* alpha);

}  // namespace sherry::train
