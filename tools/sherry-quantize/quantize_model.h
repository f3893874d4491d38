// Quantizes a Llama-family GGUF (llama, qwen2, qwen3, hunyuan-dense) with F32/F16/BF16 weights:
// the seven linear layers of every block (q, k, v, o, gate, up, down) become sherry (or STQ1_0)
// tensors via quantize_sparse_absmean; the output head becomes Q6_K and the token embedding Q4_K
// (what llama.cpp's llama-quantize gives its ternary types; the head is most of what a decode step
// reads once the layers are 1.25-bit) unless told to take another of Q4_K, Q5_K, Q6_K, Q8_0, F16
// or to stay in their type; norms, biases and all metadata are copied.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/weight_layout.h"
#include "runtime/gguf/gguf_types.h"

namespace sherry::gguf {

class Writer;

enum class QuantizeFormat : uint8_t { kSherry, kStq1_0 };

struct QuantizeOptions {
  QuantizeFormat format = QuantizeFormat::kSherry;
  WeightLayout layout;  // kStq1_0Layout for kStq1_0
  TensorType stq1_0_type = TensorType::kSTQ1_0;
  // The types output.weight and token_embd.weight are written in (Q4_K, Q5_K, Q6_K, Q8_0 or F16);
  // nullopt keeps the input's type. A K-quant needs rows of a multiple of 256 weights: narrower
  // rows fall back to Q8_0 (a multiple of 32) or else F16, as llama.cpp falls back too, and the
  // report says so.
  std::optional<TensorType> output_type = TensorType::kQ6_K;
  std::optional<TensorType> embd_type = TensorType::kQ4_K;
};

// "blk.<N>.<suffix>" with N decimal digits and suffix one of the seven quantized layers.
bool is_quantized_layer(std::string_view name);

// --output-type / --embd-type: "q4_k", "q5_k", "q6_k", "q8_0", "f16" or "keep" (nullopt).
Result<std::optional<TensorType>> parse_float_tensor_type(std::string_view flag,
                                                          std::string_view value);

// Options from the command line's words; unset optionals take the defaults (group 128,
// contiguous). --type stq1_0 fixes the scales (groups of 256), so --group-size or --granularity
// with it is an error; its grouping is stride16 (llama.cpp's) unless --grouping says contiguous.
Result<QuantizeOptions> resolve_quantize_options(const std::string& type,
                                                 std::optional<int64_t> group_size,
                                                 std::optional<std::string> granularity,
                                                 std::optional<std::string> grouping,
                                                 std::optional<uint32_t> stq1_0_id);

struct QuantizedTensorRow {
  std::string name;
  std::string type;            // "sherry", "STQ1_0", the converted or the copied type
  std::vector<int64_t> shape;  // ggml order
  uint64_t bytes = 0;          // including the companion scale tensor for sherry
  int64_t weights = 0;
  bool quantized = false;  // a sherry/STQ1_0 layer
  std::string note;        // why a head or embedding is not in the type asked for
  double bits_per_weight() const {
    return weights ? 8.0 * static_cast<double>(bytes) / weights : 0.0;
  }
};

struct QuantizeReport {
  std::vector<QuantizedTensorRow> tensors;  // in file order, scales folded into their weights
  uint64_t input_file_bytes = 0;
  uint64_t output_file_bytes = 0;
  // Weight bytes one decode step reads: every block tensor, the output norm, the head (the
  // embedding when the head is tied) and one embedding row. The KV cache comes on top.
  uint64_t decode_bytes_per_token = 0;
};

// One linear layer, `values` (rows × cols, row-major), quantized into `writer` as a sherry or
// STQ1_0 tensor named `name` (the layout and format of `options`). Errors name the tensor: a
// layout that does not fit the shape, a grouping other than the file's.
Result<QuantizedTensorRow> add_quantized_layer(Writer& writer, const std::string& name,
                                               std::span<const float> values, int64_t rows,
                                               int64_t cols, const QuantizeOptions& options);

// The type a head or embedding with rows of `cols` weights asked to be `type` is written in: a
// K-quant falls back to Q8_0, or else F16, when its rows are not whole 256-weight super-blocks
// (`note` says so), as llama.cpp falls back too.
TensorType fitting_type(int64_t cols, TensorType type, std::string* note);

// The LM head or the embedding (`name` says which flag to suggest), `values` rows × cols, as the
// bytes of a [cols, rows] tensor of `type` (Q4_K, Q5_K, Q6_K, Q8_0 or F16; fitting_type
// applied). Errors: Q8_0 with cols not a multiple of 32, a non-finite weight for a quantized type.
Result<std::vector<uint8_t>> convert_float_values(std::string_view name,
                                                  std::span<const float> values, int64_t rows,
                                                  int64_t cols, TensorType type);

// What one decode step reads of the weights `tensors` (in file order) describe (the report's
// decode_bytes_per_token).
uint64_t decode_bytes_per_token(const std::vector<QuantizedTensorRow>& tensors);

// Reads `in`, writes `out` atomically. Errors name the file and tensor: missing or non-GGUF input,
// an architecture other than the four above, a layer of a type other than F32/F16/BF16 or not 2-D,
// a shape the layout does not divide, no layer to quantize, a head or embedding that cannot take
// the type asked (rows not a multiple of 32 for Q8_0, a quantized input to convert, a non-finite
// weight for Q8_0 or a K-quant).
Result<QuantizeReport> quantize_model(const std::string& in, const std::string& out,
                                      const QuantizeOptions& options);

// The per-tensor table and the totals, as sherry-quantize prints them.
std::string format_quantize_report(const QuantizeReport& report, const std::string& in,
                                   const std::string& out);

}  // namespace sherry::gguf
