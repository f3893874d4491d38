// Finite-difference gradient checking in double precision for the trainer tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "trainer/qat/rng.h"

namespace sherry::train::testing {

inline std::vector<double> random_vector(int64_t count, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<double> v(count);
  for (double& x : v) x = rng.normal() * scale;
  return v;
}

// `samples` distinct indices in [0, count), drawn with Rng(seed) (a partial Fisher-Yates
// shuffle), sorted; every index when samples is 0 or at least count. Random rather than strided,
// so a bug confined to even or odd columns, or to every 4th weight, cannot hide between samples.
inline std::vector<int64_t> sample_indices(int64_t count, int64_t samples, uint64_t seed) {
  std::vector<int64_t> all(static_cast<size_t>(count));
  std::iota(all.begin(), all.end(), int64_t{0});
  if (samples <= 0 || samples >= count) return all;
  Rng rng(seed);
  for (int64_t i = 0; i < samples; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(count - i)));
    std::swap(all[i], all[j]);
  }
  all.resize(static_cast<size_t>(samples));
  std::sort(all.begin(), all.end());
  return all;
}

// Compares analytic[i] with the central difference (f(x + h) − f(x − h)) / 2h of loss() around
// values[i], for every i or for `samples` random distinct indices (seeded, see sample_indices).
//
// Tolerance. In double the central difference differs from the derivative by
//   truncation  h²/6 · |f'''|   (the Taylor remainder)
//   rounding    ε_f · |f| / h   (two evaluations with relative error ε_f, over 2h)
// The rounding term is known in advance: with ε = 2^-52 and ε_f = 8 ε (a few ulps: both
// evaluations run the same operations, so most of their rounding cancels in the difference;
// measured here at about 1 ε)
//   noise = 8 ε · max(1, |f(x)|) / h            (1.8e-10 · max(1, |f|) at h = 1e-5).
// The truncation term is not (f''' is unknown); it falls as h², so each caller picks h small
// enough that it stays well below the tolerance (the whole model, with large weights, needs
// h = 1e-6), but not so small that the noise reaches it.
// Each index's error is measured against the tensor's largest |gradient| (analytic over the whole
// tensor, numeric over the samples), `scale`: |numeric − analytic| / scale < tolerance, so a small
// gradient is held to the precision of its tensor, not to an absolute 1e-6. Such a check means
// something only when the tolerance is above the noise and the gradient is not trivially zero, so
// it also requires noise < tolerance · scale (the largest |gradient| is at least 1 / tolerance
// times the noise) and a non-zero analytic value among the samples.
inline void check_gradient(const std::string& what, std::vector<double>& values,
                           const std::vector<double>& analytic, const std::function<double()>& loss,
                           int64_t samples = 0, uint64_t seed = 1, double h = 1e-5,
                           double tolerance = 1e-6) {
  REQUIRE(values.size() == analytic.size());
  const int64_t count = static_cast<int64_t>(values.size());
  const double f0 = loss();
  const double eps = std::numeric_limits<double>::epsilon();
  const double noise = 8 * eps / h * std::max(1.0, std::fabs(f0));
  double scale = 0;
  for (double g : analytic) scale = std::max(scale, std::fabs(g));
  const std::vector<int64_t> indices = sample_indices(count, samples, seed);
  std::vector<double> numeric(indices.size());
  int64_t nonzero = 0;
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    const double saved = values[i];
    values[i] = saved + h;
    const double plus = loss();
    values[i] = saved - h;
    const double minus = loss();
    values[i] = saved;
    numeric[k] = (plus - minus) / (2 * h);
    scale = std::max(scale, std::fabs(numeric[k]));
    nonzero += analytic[i] != 0;
  }
  double worst = 0;
  int64_t worst_k = 0;
  for (size_t k = 0; k < indices.size(); ++k) {
    const double error = std::fabs(numeric[k] - analytic[indices[k]]) / scale;
    if (error > worst) {
      worst = error;
      worst_k = static_cast<int64_t>(k);
    }
  }
  INFO(what << ": " << indices.size() << " of " << count << " indices (seed " << seed
            << "), largest |gradient| " << scale << ", noise bound " << noise
            << ", worst error / largest " << worst << " at index " << indices[worst_k]
            << " (numeric " << numeric[worst_k] << ", analytic " << analytic[indices[worst_k]]
            << ")");
  CHECK(noise < tolerance * scale);
  CHECK(nonzero > 0);
  CHECK(worst < tolerance);
}

}  // namespace sherry::train::testing
