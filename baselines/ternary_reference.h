// Naive reference kernels of the dense ternary baselines (I2_S-style, TL2-style) on unpacked
// values: the oracle of their fast paths, as dumb as core/reference_kernels.h.
// Activations and outputs are token-major (X is n × cols, Y is n × rows).
#pragma once

#include <cstdint>

#include "core/activation_quant.h"
#include "core/ternary_absmean.h"

namespace sherry {

// acc[t][m] = Σ_k values[m][k] · q[t][k], exact in int32 (n × rows entries).
void ternary_accumulate_i32(const TernaryMatrix& w, const QuantizedActivations& x, int32_t* acc);

// y[t][m] = ((float)acc[t][m] · x.scales[t]) · α   (fp32, in that order). Fast kernels must match
// acc bit-exactly and y within a tolerance derived from cols.
void ternary_scale_accumulators(const TernaryMatrix& w, const QuantizedActivations& x,
                                const int32_t* acc, float* y);

// Quantize x per token (activation_quant.h), accumulate, scale.
void ternary_gemm_i8(const TernaryMatrix& w, const float* x, int64_t n, float* y);

// Float path: y[t][m] = Σ_k α·values[m][k] · x[t][k], accumulated in double, stored as float.
void ternary_gemm_f32(const TernaryMatrix& w, const float* x, int64_t n, float* y);

}  // namespace sherry
