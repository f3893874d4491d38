// Picking the next token from logits, llama.cpp's chain: repeat penalty → top-k → top-p → min-p →
// temperature → draw. Temperature 0 is greedy (the arg max after the penalty). Buffers are
// allocated once; sample() does not allocate.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sherry::runtime {

struct SamplerOptions {
  float temperature = 0.8f;
  int top_k = 40;               // <= 0: the whole vocabulary
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off; relative to the most likely token
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;       // tokens of history the penalty looks at
  uint64_t seed = 0;
};

class Sampler {
 public:
  Sampler(const SamplerOptions& options, int64_t vocab);
  // `history`: the tokens so far (prompt and generated), for the repeat penalty.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  double uniform();  // [0, 1)
  SamplerOptions options_;
  uint64_t state_;
  struct Candidate {
    float logit;
    int32_t id;
  };
  std::vector<Candidate> candidates_;
  std::vector<float> penalized_;
};

}  // namespace sherry::runtime
