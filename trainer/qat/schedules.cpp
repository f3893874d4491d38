#include "trainer/qat/schedules.h"

#include <algorithm>
#include <cmath>

namespace sherry::train {

std::string_view to_string(LrSchedule schedule) {
  switch (schedule) {
    case LrSchedule::kCosine:
      return "cosine";
    case LrSchedule::kConstant:
      return "constant";
    case LrSchedule::kWsd:
      return "wsd";
  }
  return "?";
}

Result<LrSchedule> parse_lr_schedule(std::string_view text) {
  for (LrSchedule s : {LrSchedule::kCosine, LrSchedule::kConstant, LrSchedule::kWsd})
    if (text == to_string(s)) return s;
  return make_error("unknown learning-rate schedule '{}' (expected cosine, constant or wsd)", text);
}

int64_t fraction_steps(double fraction, int64_t total) {
  return std::max<int64_t>(0, std::llround(fraction * static_cast<double>(total)));
}

double learning_rate(int64_t step, int64_t total, const LrScheduleOptions& o) {
  const int64_t warmup = fraction_steps(o.warmup_fraction, total);
  if (step < warmup) return o.peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double floor = o.peak * o.min_ratio;
  switch (o.schedule) {
    case LrSchedule::kConstant:
      return o.peak;
    case LrSchedule::kWsd: {
      const int64_t decay = std::min(fraction_steps(o.decay_fraction, total), total - warmup);
      const int64_t decay_start = total - decay;  // the decay's steps: decay_start .. total − 1
      if (step < decay_start || decay <= 0) return o.peak;
      // Linear from the peak at decay_start − 1 (the last stable step) to the floor at total − 1.
      const double progress =
          static_cast<double>(step - decay_start + 1) / static_cast<double>(decay);
      return o.peak + (floor - o.peak) * std::min(1.0, progress);
    }
    case LrSchedule::kCosine: {
      const int64_t span = total - 1 - warmup;
      if (span <= 0) return o.peak;
      const double progress =
          std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
      const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
      return floor + (o.peak - floor) * cosine;
    }
  }
  return o.peak;
}

double arenas_lambda(int64_t step, int64_t total, double warmup_fraction, double end_fraction) {
  const int64_t last = total - 1;
  if (step >= last) return 0.0;
  const int64_t warmup = fraction_steps(warmup_fraction, total);
  const int64_t end = std::min(last, fraction_steps(end_fraction, last));  // λ(end) = 0
  if (step >= end) return 0.0;
  const double rise =
      warmup > 0 ? std::min(1.0, static_cast<double>(step) / static_cast<double>(warmup)) : 1.0;
  if (step < warmup) {
    // The decay may begin before the warm-up is over (a short end): the smaller of the two.
    if (end <= warmup) {
      const double progress = static_cast<double>(step) / static_cast<double>(end);
      return std::min(rise, 0.5 * (1.0 + std::cos(M_PI * progress)));
    }
    return rise;
  }
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, end - warmup));
  return 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace sherry::train
