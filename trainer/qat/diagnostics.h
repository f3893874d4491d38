// Weight-trapping indicators of one quantized matrix (docs/training.md, "Metrics and diagnostics"):
//  * near-decision share: sherry: the share of 3:4 blocks whose two smallest |w| are within
//    kNearFraction·α of each other (a small step flips which weight is zeroed);
//    absmean: the share of weights with | |w| − α/2 | < kNearFraction·α (the rounding threshold);
//  * flip share since the previous evaluation: sherry: the share of 3:4 blocks whose zero lane
//    moved; absmean: the share of weights whose ternary value changed;
//  * the histogram of |w|/α (α of the weight's own scale group): polarisation piles it up at 1;
//  * the entropy effective rank of a gradient matrix: exp(H(σ/Σσ)) over its singular values
//    (eigenvalues of the smaller Gram matrix, by LAPACK's dsyev in double).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/weight_layout.h"
#include "trainer/qat/quant_method.h"

namespace sherry::train {

inline constexpr double kNearFraction = 0.05;
inline constexpr int kHistogramBins = 21;  // 20 bins of 0.1 over [0, 2), then [2, ∞)
inline constexpr double kHistogramBinWidth = 0.1;

struct WeightDiagnostics {
  double near_decision_share = 0;
  double flip_share = -1;                          // −1: no previous quantization to compare with
  std::array<double, kHistogramBins> histogram{};  // shares, summing to 1
};

// w: latent weights (rows × cols); ternary and alpha: their quantization by `method` with
// `layout` (scale_count(layout) values of α); previous: the ternary values at the previous
// evaluation, or null. kFp is diagnosed as sherry (what a Sherry export would make of it).
WeightDiagnostics weight_diagnostics(QuantMethod method, const float* w, int64_t rows, int64_t cols,
                                     const WeightLayout& layout, const float* alpha,
                                     const int8_t* ternary, const int8_t* previous);

// Entropy effective rank of g (rows × cols), in [1, min(rows, cols)]; 0 for an all-zero matrix.
double effective_rank(const float* g, int64_t rows, int64_t cols);

// Eigenvalues of a symmetric n × n matrix (row-major), ascending (LAPACK dsyev).
std::vector<double> symmetric_eigenvalues(std::vector<double> a, int64_t n);

}  // namespace sherry::train
