// Finite-difference gradient checking in double precision for the trainer tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
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

// Compares analytic[i] with the central difference of loss() around values[i] for every i
// (or `samples` evenly spread indices when samples > 0). Relative error with an absolute floor.
inline void check_gradient(const std::string& what, std::vector<double>& values,
                           const std::vector<double>& analytic, const std::function<double()>& loss,
                           int64_t samples = 0, double h = 1e-5, double tolerance = 1e-6) {
  REQUIRE(values.size() == analytic.size());
  const int64_t count = static_cast<int64_t>(values.size());
  const int64_t step = samples > 0 && samples < count ? count / samples : 1;
  double worst = 0;
  int64_t worst_index = -1;
  for (int64_t i = 0; i < count; i += step) {
    const double saved = values[i];
    values[i] = saved + h;
    const double plus = loss();
    values[i] = saved - h;
    const double minus = loss();
    values[i] = saved;
    const double numeric = (plus - minus) / (2 * h);
    const double error = std::fabs(numeric - analytic[i]) / std::max(1.0, std::fabs(numeric));
    if (error > worst) {
      worst = error;
      worst_index = i;
    }
  }
  INFO(what << ": worst relative error " << worst << " at index " << worst_index);
  CHECK(worst < tolerance);
}

}  // namespace sherry::train::testing
