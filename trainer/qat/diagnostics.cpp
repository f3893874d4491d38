#include "trainer/qat/diagnostics.h"

#include <algorithm>
#include <cmath>

#include "core/ternary_code.h"

namespace sherry::train {

WeightDiagnostics weight_diagnostics(QuantMethod method, const float* w, int64_t rows, int64_t cols,
                                     const WeightLayout& layout, const std::vector<float>& alpha) {
  WeightDiagnostics d;
  const bool absmean = method == QuantMethod::kAbsmean;
  const int64_t groups = scale_groups_per_row(layout, cols);
  const int64_t group_size = accumulation_group_size(layout, cols);
  auto alpha_of = [&](int64_t r, int64_t c) -> double {
    if (absmean || layout.granularity == ScaleGranularity::kTensor) return alpha[0];
    return alpha[r * groups + c / group_size];
  };
  int64_t near = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double a = std::max(alpha_of(r, c), 1e-30);
      const double ratio = std::fabs(w[r * cols + c]) / a;
      const int bin = std::min(kHistogramBins - 1, static_cast<int>(ratio / kHistogramBinWidth));
      d.histogram[bin] += 1;
      if (absmean && std::fabs(ratio - 0.5) < kNearFraction) ++near;
    }
    if (absmean) continue;
    for (int64_t b = 0; b < cols / kWeightsPerBlock; ++b) {
      std::array<double, kWeightsPerBlock> mags;
      for (int p = 0; p < kWeightsPerBlock; ++p)
        mags[p] = std::fabs(w[r * cols + block_weight_column(layout.grouping, b, p)]);
      std::sort(mags.begin(), mags.end());
      const double a = std::max(alpha_of(r, block_weight_column(layout.grouping, b, 0)), 1e-30);
      if (mags[1] - mags[0] < kNearFraction * a) ++near;
    }
  }
  const double total = static_cast<double>(rows * cols);
  for (double& h : d.histogram) h /= total;
  d.near_decision_share = static_cast<double>(near) / (absmean ? total : total / kWeightsPerBlock);
  return d;
}

std::vector<double> symmetric_eigenvalues(std::vector<double> a, int64_t n) {
  auto at = [&](int64_t i, int64_t j) -> double& { return a[i * n + j]; };
  double total = 0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) off += at(i, j) * at(i, j);
    if (off <= 1e-22 * total || off == 0) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = at(p, q);
        if (std::fabs(apq) < 1e-300) continue;
        const double theta = (at(q, q) - at(p, p)) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = at(k, p), akq = at(k, q);
          at(k, p) = c * akp - s * akq;
          at(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = at(p, k), aqk = at(q, k);
          at(p, k) = c * apk - s * aqk;
          at(q, k) = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> eig(n);
  for (int64_t i = 0; i < n; ++i) eig[i] = at(i, i);
  return eig;
}

double effective_rank(const float* g, int64_t rows, int64_t cols) {
  // Gram of the smaller side: rows ≤ cols → G Gᵀ (rows × rows), else Gᵀ G.
  const bool by_rows = rows <= cols;
  const int64_t n = by_rows ? rows : cols, inner = by_rows ? cols : rows;
  std::vector<double> gram(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < inner; ++k) {
        const double x = by_rows ? g[i * cols + k] : g[k * cols + i];
        const double y = by_rows ? g[j * cols + k] : g[k * cols + j];
        s += x * y;
      }
      gram[i * n + j] = gram[j * n + i] = s;
    }
  const std::vector<double> eig = symmetric_eigenvalues(std::move(gram), n);
  double sum = 0;
  for (double e : eig) sum += std::sqrt(std::max(e, 0.0));
  if (sum <= 0) return 0.0;
  double entropy = 0;
  for (double e : eig) {
    const double p = std::sqrt(std::max(e, 0.0)) / sum;
    if (p > 0) entropy -= p * std::log(p);
  }
  return std::exp(entropy);
}

}  // namespace sherry::train
