// Deliberately naive reference kernels: the oracle of every fast-path test.
// Matrices of activations are token-major: X is n × cols (token t at x + t·cols), Y is n × rows.
#pragma once

#include <cstdint>
#include <vector>

#include "core/activation_quant.h"
#include "core/packed_tensor.h"

namespace sherry {

// (a) Dequantized weights α·t, rows × cols, row-major.
std::vector<float> dequantize(const PackedTensorView& w);
// Ternary values t (rows × cols) without α.
std::vector<int8_t> unpack_ternary(const PackedTensorView& w);

// (b) Float GEMM: y[t][m] = Σ_k (α·t)[m][k] · x[t][k], accumulated in double, stored as float.
void reference_gemm_f32(const PackedTensorView& w, const float* x, int64_t n, float* y);

// (c) Integer semantics. Accumulators: acc[t][m][g] = Σ over the blocks b of accumulation group g
// (in storage order) of Σ_p t[m][col(b,p)] · q[t][col(b,p)], exact in int32.
// acc has n × rows × scale_groups_per_row(layout, cols) entries.
void reference_accumulate_i32(const PackedTensorView& w, const QuantizedActivations& x,
                              int32_t* acc);

// Float output from the accumulators:
//   y[t][m] = x.scales[t] · Σ_{g ascending} (float)acc[t][m][g] · α[m][g]   (fp32, in that order)
// Fast kernels must match acc bit-exactly and y within a tolerance derived from cols.
void reference_scale_accumulators(const PackedTensorView& w, const QuantizedActivations& x,
                                  const int32_t* acc, float* y);

// (c) end to end: quantize x per token, accumulate, scale.
void reference_gemm_i8(const PackedTensorView& w, const float* x, int64_t n, float* y);

}  // namespace sherry
