// Sparse-AbsMean 3:4 quantization (docs/format.md §5):
//  * in each block of 4 (per BlockGrouping) the weight with the smallest |w| becomes 0;
//    ties go to the lowest lane (the first of the equal |w| in lane order p = 0..3);
//  * the other three become sign(w), with sign(+0) = sign(-0) = +1;
//  * α = mean |w| over the kept weights of each scale group (accumulated in double).
#pragma once

#include <cstdint>

#include "core/packed_tensor.h"

namespace sherry {

// Unpacked result for the trainer: ternary values (rows × cols, row-major, each block exactly one
// zero) and α in float (scale_count values), no fp16 rounding. `w` must be finite; the layout must
// pass validate_layout (an internal check here: callers validate once, outside the training loop).
void sparse_absmean_ternary(const float* w, int64_t rows, int64_t cols, const WeightLayout& layout,
                            int8_t* ternary, float* alpha);

// Quantizes and packs. α is stored as fp16 (rounded to nearest even). Errors: a layout that does
// not fit the shape, a non-finite weight (message gives row and column), an α that overflows fp16.
// `what` names the matrix in messages (e.g. "blk.0.attn_q.weight").
Result<PackedTensor> quantize_sparse_absmean(const float* w, int64_t rows, int64_t cols,
                                             const WeightLayout& layout,
                                             std::string_view what = "matrix");

}  // namespace sherry
