// The vectorizable exp the float training loops use, against the C library's.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "trainer/qat/vector_math.h"

namespace sherry::train {
namespace {

TEST_CASE("exp_approx is within 3 ulp of exp over the range the trainer feeds it") {
  // Cody-Waite reduction leaves |r| ≤ ln2/2, where Cephes' degree-5 polynomial is accurate to
  // about 1 ulp; the reduction and the final scaling add at most one more rounding each.
  const double ulp = std::numeric_limits<float>::epsilon();
  double worst = 0, worst_x = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.00137f) {
    const double exact = std::exp(static_cast<double>(x));
    const double error = std::fabs(exp_approx(x) - exact) / exact;
    if (error > worst) worst = error, worst_x = x;
  }
  INFO("worst relative error " << worst / ulp << " ulp at " << worst_x);
  CHECK(worst < 3 * ulp);
  CHECK(exp_approx(0.0f) == 1.0f);
}

TEST_CASE("exp_approx clamps instead of overflowing") {
  CHECK(std::isfinite(exp_approx(1000.0f)));
  CHECK(exp_approx(1000.0f) == exp_approx(88.0f));
  CHECK(exp_approx(-1000.0f) >= 0.0f);
  CHECK(exp_approx(-1000.0f) < 2e-38f);
  CHECK(sigmoid(-1000.0f) >= 0.0f);
  CHECK(sigmoid(1000.0f) == 1.0f);
}

}  // namespace
}  // namespace sherry::train
