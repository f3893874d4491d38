#include "ir/tables.h"

#include <algorithm>
#include <cmath>

namespace sherry::ir {

void permute_to_block_order(BlockGrouping grouping, const int8_t* q, int64_t k, int64_t k_pad,
                            int8_t* out) {
  const int64_t blocks = k / kWeightsPerBlock;
  if (grouping == BlockGrouping::kContiguous) {
    for (int64_t i = 0; i < k; ++i) out[i] = q[i];
  } else {
    for (int64_t b = 0; b < blocks; ++b) {
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        out[b * kWeightsPerBlock + p] = q[block_weight_column(grouping, b, p)];
      }
    }
  }
  for (int64_t i = blocks * kWeightsPerBlock; i < k_pad; ++i) out[i] = 0;
}

Int8TableScale int8_table_scale(int32_t max_abs_entry) {
  if (max_abs_entry == 0) return {};
  return {127.0f / static_cast<float>(max_abs_entry), static_cast<float>(max_abs_entry) / 127.0f};
}

int8_t requantize_entry(int16_t v, const Int8TableScale& scale) {
  const float r = std::nearbyint(static_cast<float>(v) * scale.inv);  // round half even
  return static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
}

}  // namespace sherry::ir
