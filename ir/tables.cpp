#include "ir/tables.h"

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

}  // namespace sherry::ir
