// Learning-rate and Arenas λ schedules, both functions of the OPTIMIZER STEP (0-based) only,
// never of forward calls (evaluation passes must not move them).
#pragma once

#include <cstdint>

namespace sherry::train {

// Linear warm-up to `peak` over warmup steps (step 0 gets peak/warmup), then a cosine from peak
// down to peak·min_ratio reached at the last step (total − 1).
double learning_rate(int64_t step, int64_t total, int64_t warmup, double peak, double min_ratio);

// Arenas λ_t: linear 0 → 1 over `warmup` steps (λ(0) = 0, λ(warmup) = 1), 1 until the decay
// starts, then a cosine 1 → 0 over `decay` steps ending exactly at the last step (λ(total−1) = 0
// exactly). warmup < 0 means total/10; decay < 0 means every step after the warm-up.
double arenas_lambda(int64_t step, int64_t total, int64_t warmup, int64_t decay);

}  // namespace sherry::train
