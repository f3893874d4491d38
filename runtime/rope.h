// Rotary position embedding as llama.cpp computes it: pair i of each head rotates by
// position · θ_i, θ_i = base^(−2i/dims) / f_i, with f_i the frequency scaling factor. The pair is
// (2i, 2i+1) in NORM mode ("llama" files, whose q/k weights the converter permuted) and
// (i, i + dims/2) in NEOX mode (qwen2, qwen3, hunyuan-dense: Hugging Face's rotate_half).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/llama_config.h"

namespace sherry::runtime {

// θ_i for i < dims/2 with the scaling applied: Llama 3 factors from the config, or `factors`
// (the rope_freqs.weight tensor, dims/2 values) when not null. Linear scaling divides by factor.
std::vector<float> rope_frequencies(const RopeConfig& rope, const float* factors = nullptr);

// Llama 3.1's per-frequency divisors f_i (what llama.cpp's converter stores in rope_freqs).
std::vector<float> llama3_rope_factors(const RopeConfig& rope);

// cos/sin of position · θ_i: `table` gets dims/2 cos values then dims/2 sin values.
void rope_table(const std::vector<float>& theta, int64_t position, float* table);

// Rotates the first `dims` values of each of `heads` heads of `x` (head_dim apart).
void apply_rope(float* x, int64_t heads, int64_t head_dim, int64_t dims, const float* table,
                RopeStyle style = RopeStyle::kNorm);

}  // namespace sherry::runtime
