// The two activation-side definitions every kernel shares: the block-order permutation of the
// activations and the value of a table entry (see ir/program.h for the semantics).
#pragma once

#include <cstdint>

#include "core/ternary_code.h"
#include "core/weight_layout.h"

namespace sherry::ir {

// out[4b + p] = q[block_weight_column(grouping, b, p)] for the k/4 blocks, zeros up to k_pad.
void permute_to_block_order(BlockGrouping grouping, const int8_t* q, int64_t k, int64_t k_pad,
                            int8_t* out);

// Σ_p decode(code)[p] · quad[p]: exact, within ±381.
inline int16_t table_entry(const int8_t* quad, uint8_t code) {
  const uint8_t slot = code_slot(code);
  int sum = 0;
  for (int p = 0; p < kWeightsPerBlock; ++p) sum += slot_lane_value(slot, p) * quad[p];
  return static_cast<int16_t>(code_sign(code) ? -sum : sum);
}

// The int8 table rule (TablePrecision::kInt8Lossy), per token and scale group g over the group's
// int16 entries v (both signs: the same magnitudes):
//   amax = max |v|;  if amax == 0: every entry 0, τ = 0
//   else inv = 127.0f / amax,  t8 = round_half_even(v · inv) (fp32 multiply),  τ = amax / 127.0f
// The accumulator sums t8 exactly; its group contributes ((float)acc · τ) · α to the output.
struct Int8TableScale {
  float inv = 0.0f;  // multiplies the int16 entries
  float tau = 0.0f;  // dequantizes the int8 ones
};
Int8TableScale int8_table_scale(int32_t max_abs_entry);
int8_t requantize_entry(int16_t v, const Int8TableScale& scale);

}  // namespace sherry::ir
