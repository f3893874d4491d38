#include "trainer/qat/schedules.h"

#include <algorithm>
#include <cmath>

namespace sherry::train {

double learning_rate(int64_t step, int64_t total, int64_t warmup, double peak, double min_ratio) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t span = total - 1 - warmup;
  if (span <= 0) return peak;
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak * (min_ratio + (1.0 - min_ratio) * cosine);
}

double arenas_lambda(int64_t step, int64_t total, int64_t warmup, int64_t decay) {
  const int64_t last = total - 1;
  if (warmup < 0) warmup = total / 10;
  if (decay < 0) decay = std::max<int64_t>(0, last - warmup);
  if (step >= last) return 0.0;
  const int64_t decay_start = last - decay;
  if (step >= decay_start && decay > 0) {
    const double progress = static_cast<double>(step - decay_start) / static_cast<double>(decay);
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
    // Warm-up still running when the decay starts: the smaller of the two rules.
    if (step < warmup)
      return std::min(cosine, static_cast<double>(step) / static_cast<double>(warmup));
    return cosine;
  }
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(warmup);
  return 1.0;
}

}  // namespace sherry::train
