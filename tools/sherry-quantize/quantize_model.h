// Quantizes a Llama GGUF with F32/F16/BF16 weights: the seven linear layers of every block (q, k,
// v, o, gate, up, down) become sherry (or STQ1_0) tensors via quantize_sparse_absmean; embeddings,
// norms and the output head are copied in their type; all metadata is copied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/weight_layout.h"
#include "runtime/gguf/gguf_types.h"

namespace sherry::gguf {

enum class QuantizeFormat : uint8_t { kSherry, kStq1_0 };

struct QuantizeOptions {
  QuantizeFormat format = QuantizeFormat::kSherry;
  WeightLayout layout;  // kStq1_0Layout for kStq1_0
  TensorType stq1_0_type = TensorType::kSTQ1_0;
};

// Options from the command line's words; unset optionals take the defaults (group 128,
// contiguous). --type stq1_0 fixes the layout, so giving any layout option with it is an error.
Result<QuantizeOptions> resolve_quantize_options(const std::string& type,
                                                 std::optional<int64_t> group_size,
                                                 std::optional<std::string> granularity,
                                                 std::optional<std::string> grouping,
                                                 std::optional<uint32_t> stq1_0_id);

struct QuantizedTensorRow {
  std::string name;
  std::string type;            // "sherry", "STQ1_0", or the copied type
  std::vector<int64_t> shape;  // ggml order
  uint64_t bytes = 0;          // including the companion scale tensor for sherry
  int64_t weights = 0;
  bool quantized = false;
  double bits_per_weight() const {
    return weights ? 8.0 * static_cast<double>(bytes) / weights : 0.0;
  }
};

struct QuantizeReport {
  std::vector<QuantizedTensorRow> tensors;  // in file order, scales folded into their weights
  uint64_t input_file_bytes = 0;
  uint64_t output_file_bytes = 0;
};

// Reads `in`, writes `out` atomically. Errors name the file and tensor: missing or non-GGUF input,
// an architecture other than llama, a layer of a type other than F32/F16/BF16 or not 2-D, a shape
// the layout does not divide, no layer to quantize.
Result<QuantizeReport> quantize_model(const std::string& in, const std::string& out,
                                      const QuantizeOptions& options);

// The per-tensor table and the totals, as sherry-quantize prints them.
std::string format_quantize_report(const QuantizeReport& report, const std::string& in,
                                   const std::string& out);

}  // namespace sherry::gguf
