#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>

namespace sherry::runtime {

Sampler::Sampler(const SamplerOptions& options, int64_t vocab)
    : options_(options), state_(options.seed), candidates_(vocab), penalized_(vocab) {}

// splitmix64: small, and the same sequence on every platform for a seed.
double Sampler::uniform() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const auto vocab = static_cast<int64_t>(std::min(logits.size(), penalized_.size()));
  std::copy(logits.begin(), logits.begin() + vocab, penalized_.begin());
  if (options_.repeat_penalty != 1.0f && options_.repeat_last_n != 0) {
    const size_t window =
        options_.repeat_last_n < 0
            ? history.size()
            : std::min(history.size(), static_cast<size_t>(options_.repeat_last_n));
    // Each distinct recent token once (a repeated token is not penalized twice).
    for (size_t i = history.size() - window; i < history.size(); ++i) {
      const int32_t id = history[i];
      if (id < 0 || id >= vocab) continue;
      bool seen = false;
      for (size_t j = history.size() - window; j < i && !seen; ++j) seen = history[j] == id;
      if (seen) continue;
      float& l = penalized_[id];
      l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
    }
  }
  if (options_.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(penalized_.begin(), penalized_.begin() + vocab) -
                                penalized_.begin());
  }

  for (int64_t i = 0; i < vocab; ++i) candidates_[i] = {penalized_[i], static_cast<int32_t>(i)};
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  int64_t count = vocab;
  if (options_.top_k > 0 && options_.top_k < count) count = options_.top_k;
  std::partial_sort(candidates_.begin(), candidates_.begin() + count, candidates_.begin() + vocab,
                    by_logit);

  // Probabilities of the kept candidates (softmax at temperature 1, as the filters see them).
  const float max = candidates_[0].logit;
  double sum = 0;
  for (int64_t i = 0; i < count; ++i)
    sum += std::exp(static_cast<double>(candidates_[i].logit - max));
  if (options_.top_p < 1.0f) {
    double cumulative = 0;
    for (int64_t i = 0; i < count; ++i) {
      cumulative += std::exp(static_cast<double>(candidates_[i].logit - max)) / sum;
      if (cumulative >= options_.top_p) {
        count = i + 1;
        break;
      }
    }
  }
  if (options_.min_p > 0.0f) {
    // p_i ≥ min_p · p_max  ⇔  logit_i ≥ max + ln(min_p)
    const float threshold = max + std::log(options_.min_p);
    int64_t kept = 1;
    while (kept < count && candidates_[kept].logit >= threshold) ++kept;
    count = kept;
  }

  // Draw from softmax(logit / T) over the survivors.
  const double inv_t = 1.0 / options_.temperature;
  double total = 0;
  for (int64_t i = 0; i < count; ++i) {
    total += std::exp((static_cast<double>(candidates_[i].logit) - max) * inv_t);
  }
  double r = uniform() * total;
  for (int64_t i = 0; i < count; ++i) {
    r -= std::exp((static_cast<double>(candidates_[i].logit) - max) * inv_t);
    if (r < 0) return candidates_[i].id;
  }
  return candidates_[count - 1].id;
}

}  // namespace sherry::runtime
