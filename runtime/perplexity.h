// Perplexity of a token sequence, llama.cpp's method: non-overlapping windows of `window` tokens,
// the first of each replaced by BOS when the vocabulary uses one, and only the second half of each
// window scored (so every scored token sees at least window/2 tokens of context).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "runtime/llama_model.h"

namespace sherry::runtime {

struct PerplexityResult {
  double perplexity = 0;
  double mean_nll = 0;  // nats per scored token
  int64_t windows = 0;
  int64_t scored = 0;
};

// Errors: window < 4 or beyond the model's context, fewer tokens than one window.
// `progress` (may be empty) gets the windows done and the running perplexity.
Result<PerplexityResult> perplexity(LlamaModel& model, std::span<const int32_t> tokens,
                                    int64_t window,
                                    const std::function<void(int64_t, double)>& progress = {});

}  // namespace sherry::runtime
