// Sherry-packed, STQ1_0 and float tensors in a GGUF file (docs/gguf.md §Sherry tensors).
//
// A PackedTensor is stored as two tensors:
//   "<base>.weight": type sherry (1250), ne = [cols, rows], rows × cols/32 blocks of 5 bytes;
//   "<base>.scale":  F16, ne = [groups_per_row, rows] (group and channel granularity) or [1]
//                    (tensor granularity);
// plus file-wide metadata "sherry.format_version" = 1 and "sherry.block_grouping".
// The group size is derived on reading: cols / groups_per_row. A group size equal to cols reads
// back as channel granularity (the same arithmetic).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/packed_tensor.h"
#include "runtime/gguf/gguf_file.h"

namespace sherry::gguf {

inline constexpr std::string_view kSherryFormatVersionKey = "sherry.format_version";  // uint32
inline constexpr std::string_view kSherryBlockGroupingKey = "sherry.block_grouping";  // string
// The grouping of the file's STQ1_0 tensors (absent from files llama.cpp writes: stride16).
inline constexpr std::string_view kStq1_0BlockGroupingKey = "sherry.stq1_0_block_grouping";
inline constexpr uint32_t kSherryFormatVersion = 1;

// "blk.0.attn_q.weight" -> "blk.0.attn_q.scale"; a name not ending in ".weight" gets ".scale"
// appended.
std::string scale_tensor_name(std::string_view weight_name);

// Adds "<base>.weight" and "<base>.scale" and the sherry metadata. Errors: cols not a multiple
// of 32 (the GGUF block), a layout that does not fit the shape, a grouping different from the one
// the file already declares, a name already present.
Status add_sherry_tensor(Writer& writer, std::string_view weight_name,
                         const PackedTensorView& tensor);

// A view into the reader's mapping (valid while the Reader lives), fully validated: metadata
// version and grouping, weight type and shape, scale tensor presence, type, shape, alignment and
// finite values, and the derived layout via validate_layout.
Result<PackedTensorView> read_sherry_tensor(const Reader& reader, std::string_view weight_name);

// STQ1_0 (type id 42 as released, 43 in newer llama.cpp), ne = [cols, rows]. The tensor must
// have the layout stq1_0_layout(grouping); the grouping is declared in
// sherry.stq1_0_block_grouping (one per file: a different one is an error).
Status add_stq1_0_tensor(Writer& writer, std::string_view name, const PackedTensorView& tensor,
                         TensorType type = TensorType::kSTQ1_0);
// The grouping of a file's STQ1_0 tensors: sherry.stq1_0_block_grouping when the file has it,
// else `fallback` (a user's --stq1-0-grouping), else stride16 (llama.cpp's). Errors: an unknown
// grouping in the file, or a fallback that contradicts the file.
Result<BlockGrouping> stq1_0_grouping(const Reader& reader,
                                      std::optional<BlockGrouping> fallback = std::nullopt);
Result<PackedTensor> read_stq1_0_tensor(const Reader& reader, std::string_view name,
                                        BlockGrouping grouping = BlockGrouping::kStride16);

// F32, F16 or BF16 tensor converted to floats (element order of the file: ne[0] fastest).
Result<std::vector<float>> read_float_tensor(const Reader& reader, std::string_view name);
Result<std::vector<float>> read_float_tensor(const Reader& reader, const TensorInfo& info);
// Stores floats as F32, F16 or BF16 (round to nearest even). `values` holds the product of the
// shape; type must be one of the three (internal checks).
void add_float_tensor(Writer& writer, std::string name, TensorType type, std::vector<int64_t> shape,
                      std::span<const float> values);

}  // namespace sherry::gguf
