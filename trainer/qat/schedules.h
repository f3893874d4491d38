// Learning-rate and Arenas λ schedules, both functions of the OPTIMIZER STEP (0-based) only,
// never of forward calls (evaluation passes must not move them). Lengths are FRACTIONS of the
// run, so a shorter or longer run keeps the same shape.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace sherry::train {

enum class LrSchedule : uint8_t {
  kCosine,    // warm-up, then a cosine from the peak down to peak·min_ratio at the last step
  kConstant,  // warm-up, then the peak to the end (the reference QAT recipe)
  kWsd,       // warm-up, stable at the peak, then linear to peak·min_ratio over the last
              // decay_fraction of the run (warmup-stable-decay)
};

std::string_view to_string(LrSchedule schedule);  // "cosine" | "constant" | "wsd"
Result<LrSchedule> parse_lr_schedule(std::string_view text);

struct LrScheduleOptions {
  LrSchedule schedule = LrSchedule::kCosine;
  double peak = 3e-3;
  double min_ratio = 0.1;
  double warmup_fraction = 0.05;  // linear warm-up over round(warmup_fraction · total) steps
  double decay_fraction = 0.2;    // kWsd only
};

// Steps of a fraction of a run of `total` steps: round(fraction · total), at least 0.
int64_t fraction_steps(double fraction, int64_t total);

// Step 0 of a warm-up of w steps gets peak/w, step w−1 the peak.
double learning_rate(int64_t step, int64_t total, const LrScheduleOptions& options);

// Arenas λ_t: linear 0 → 1 over the first warmup_fraction of the run (λ(0) = 0), 1 until the
// decay starts, a cosine 1 → 0 ending at step round(end_fraction · (total − 1)), then 0: with
// end_fraction < 1 the run ends with a pure ternary phase. λ(total − 1) = 0 exactly. The decay
// starts at the end of the warm-up (the paper's schedule: end_fraction = 1).
double arenas_lambda(int64_t step, int64_t total, double warmup_fraction, double end_fraction);

}  // namespace sherry::train
