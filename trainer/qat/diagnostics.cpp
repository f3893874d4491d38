#include "trainer/qat/diagnostics.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/ternary_code.h"

// LAPACK's symmetric eigensolver, from OpenBLAS (which bundles LAPACK); Debian ships no header
// for the Fortran interface with libopenblas-dev, so the prototype is declared here.
extern "C" void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                       double* w, double* work, const int* lwork, int* info);

namespace sherry::train {

WeightDiagnostics weight_diagnostics(QuantMethod method, const float* w, int64_t rows, int64_t cols,
                                     const WeightLayout& layout, const float* alpha,
                                     const int8_t* ternary, const int8_t* previous) {
  WeightDiagnostics d;
  const bool absmean = method == QuantMethod::kAbsmean;
  const int64_t groups = scale_groups_per_row(layout, cols);
  const int64_t group_size = accumulation_group_size(layout, cols);
  auto alpha_of = [&](int64_t r, int64_t c) -> double {
    if (layout.granularity == ScaleGranularity::kTensor) return alpha[0];
    return alpha[r * groups + c / group_size];
  };
  int64_t near = 0, flips = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * cols + c;
      const double a = std::max(alpha_of(r, c), 1e-30);
      const double ratio = std::fabs(w[i]) / a;
      const int bin = std::min(kHistogramBins - 1, static_cast<int>(ratio / kHistogramBinWidth));
      d.histogram[bin] += 1;
      if (absmean && std::fabs(ratio - 0.5) < kNearFraction) ++near;
      if (absmean && previous != nullptr && previous[i] != ternary[i]) ++flips;
    }
    if (absmean) continue;
    for (int64_t b = 0; b < cols / kWeightsPerBlock; ++b) {
      std::array<double, kWeightsPerBlock> mags;
      bool moved = false;
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        const int64_t i = r * cols + block_weight_column(layout.grouping, b, p);
        mags[p] = std::fabs(w[i]);
        if (previous != nullptr && (previous[i] == 0) != (ternary[i] == 0)) moved = true;
      }
      flips += moved;
      std::sort(mags.begin(), mags.end());
      const double a = std::max(alpha_of(r, block_weight_column(layout.grouping, b, 0)), 1e-30);
      if (mags[1] - mags[0] < kNearFraction * a) ++near;
    }
  }
  const double total = static_cast<double>(rows * cols);
  const double units = absmean ? total : total / kWeightsPerBlock;
  for (double& h : d.histogram) h /= total;
  d.near_decision_share = static_cast<double>(near) / units;
  if (previous != nullptr) d.flip_share = static_cast<double>(flips) / units;
  return d;
}

std::vector<double> symmetric_eigenvalues(std::vector<double> a, int64_t n) {
  std::vector<double> eig(n);
  if (n == 0) return eig;
  const int dim = static_cast<int>(n);
  int info = 0, lwork = -1;
  double query = 0;
  // Row-major symmetric = column-major symmetric: the matrix passes unchanged.
  dsyev_("N", "U", &dim, a.data(), &dim, eig.data(), &query, &lwork, &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dsyev_("N", "U", &dim, a.data(), &dim, eig.data(), work.data(), &lwork, &info);
  SHERRY_CHECK(info == 0, "dsyev failed with info {}", info);
  return eig;
}

double effective_rank(const float* g, int64_t rows, int64_t cols) {
  // Gram of the smaller side: rows ≤ cols → G Gᵀ (rows × rows), else Gᵀ G.
  const bool by_rows = rows <= cols;
  const int64_t n = by_rows ? rows : cols, inner = by_rows ? cols : rows;
  const std::vector<double> gd(g, g + rows * cols);
  std::vector<double> gram(n * n, 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, by_rows ? CblasNoTrans : CblasTrans, static_cast<int>(n),
              static_cast<int>(inner), 1.0, gd.data(), static_cast<int>(cols), 0.0, gram.data(),
              static_cast<int>(n));
  for (int64_t i = 0; i < n; ++i)  // mirror the upper triangle (dsyev reads "U" either way)
    for (int64_t j = i + 1; j < n; ++j) gram[j * n + i] = gram[i * n + j];
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
