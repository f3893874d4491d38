#include "tools/sherry-quantize/quantize_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/ranges.h>

#include "core/half.h"
#include "core/sparse_absmean.h"
#include "core/stq1_0.h"
#include "core/thread_pool.h"
#include "runtime/float_kernels.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/k_quants.h"

namespace sherry::gguf {
namespace {

// The input types a tensor is quantized or converted from.
bool is_float_input(TensorType type) {
  return type == TensorType::kF32 || type == TensorType::kF16 || type == TensorType::kBF16;
}

// A quantized layer, or a converted head or embedding, is a [cols, rows] matrix.
Status expect_matrix(const TensorInfo& info, const std::string& in) {
  if (info.shape.size() == 2) return {};
  return make_error("{}: tensor '{}': expected 2 dimensions [cols, rows], found [{}]", in,
                    info.name, fmt::join(info.shape, ", "));
}

// The type `info` is written in: the option's for the head and the embedding, else its own.
std::optional<TensorType> target_type(const TensorInfo& info, const QuantizeOptions& options) {
  if (info.name == names::kOutput) return options.output_type;
  if (info.name == names::kTokenEmbedding) return options.embd_type;
  return std::nullopt;
}

std::string_view type_flag(std::string_view name) {
  return name == names::kOutput ? "--output-type" : "--embd-type";
}

bool is_k_quant(TensorType type) {
  return type == TensorType::kQ4_K || type == TensorType::kQ5_K || type == TensorType::kQ6_K;
}

// Quantizes each row of `values` into `bytes` (row_bytes per row) with `quantize_row`, the rows
// split over the hardware threads.
template <class Block>
void quantize_rows(std::span<const float> values, int64_t rows, int64_t cols,
                   std::vector<uint8_t>& bytes, int64_t blocks_per_row,
                   void (*quantize_row)(const float*, int64_t, Block*)) {
  bytes.resize(static_cast<size_t>(rows * blocks_per_row) * sizeof(Block));
  auto* out = reinterpret_cast<Block*>(bytes.data());
  ThreadPool pool(0, 0);
  pool.parallel_for(rows, 16, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      quantize_row(values.data() + r * cols, cols, out + r * blocks_per_row);
    }
  });
}

// `info`'s values (F32, F16 or BF16) as a [cols, rows] tensor of `type` (a K-quant, Q8_0 or F16;
// fitting_type already applied).
Result<std::vector<uint8_t>> convert_float_tensor(const Reader& reader, const TensorInfo& info,
                                                  TensorType type, const std::string& in) {
  if (!is_float_input(info.type)) {
    return make_error(
        "{}: tensor '{}': {} {} converts F32, F16 or BF16, found {} ({} keep copies it)", in,
        info.name, type_flag(info.name), tensor_type_name(type), tensor_type_name(info.type),
        type_flag(info.name));
  }
  SHERRY_TRY(expect_matrix(info, in));
  auto values = read_float_tensor(reader, info);
  if (!values) return values.error();
  auto bytes = convert_float_values(info.name, *values, info.shape[1], info.shape[0], type);
  if (!bytes) return bytes.error().with_context(in);
  return bytes;
}

uint64_t file_size(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
}

}  // namespace

uint64_t decode_bytes_per_token(const std::vector<QuantizedTensorRow>& tensors) {
  uint64_t bytes = 0, embedding = 0, embedding_row = 0;
  bool has_head = false;
  for (const QuantizedTensorRow& row : tensors) {
    if (row.name.starts_with("blk.") || row.name == names::kOutputNorm) bytes += row.bytes;
    if (row.name == names::kOutput) {
      bytes += row.bytes;
      has_head = true;
    }
    if (row.name == names::kTokenEmbedding && row.shape.size() == 2 && row.shape[1] > 0) {
      embedding = row.bytes;
      embedding_row = row.bytes / static_cast<uint64_t>(row.shape[1]);
    }
  }
  return bytes + embedding_row + (has_head ? 0 : embedding);
}

bool is_quantized_layer(std::string_view name) {
  constexpr std::string_view kPrefix = "blk.";
  if (!name.starts_with(kPrefix)) return false;
  name.remove_prefix(kPrefix.size());
  const size_t digits = name.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos || name[digits] != '.') return false;
  const std::string_view suffix = name.substr(digits + 1);
  return std::any_of(std::begin(names::kQuantizedSuffixes), std::end(names::kQuantizedSuffixes),
                     [&](std::string_view s) { return s == suffix; });
}

TensorType fitting_type(int64_t cols, TensorType type, std::string* note) {
  if (!is_k_quant(type) || cols % runtime::kKQuantBlockWeights == 0) return type;
  const TensorType fallback =
      cols % runtime::kQ8_0BlockWeights == 0 ? TensorType::kQ8_0 : TensorType::kF16;
  *note = fmt::format("{} needs rows of a multiple of {} weights, found {}: written as {}",
                      tensor_type_name(type), runtime::kKQuantBlockWeights, cols,
                      tensor_type_name(fallback));
  return fallback;
}

Result<std::vector<uint8_t>> convert_float_values(std::string_view name,
                                                  std::span<const float> values, int64_t rows,
                                                  int64_t cols, TensorType type) {
  SHERRY_CHECK(static_cast<int64_t>(values.size()) == rows * cols,
               "tensor '{}': {} values for {} x {}", name, values.size(), rows, cols);
  if (type == TensorType::kQ8_0 && cols % runtime::kQ8_0BlockWeights != 0) {
    return make_error(
        "tensor '{}': Q8_0 needs rows of a multiple of {} weights, found {} ({} f16 or keep "
        "writes it)",
        name, runtime::kQ8_0BlockWeights, cols, type_flag(name));
  }
  SHERRY_CHECK(!is_k_quant(type) || cols % runtime::kKQuantBlockWeights == 0,
               "tensor '{}': {} with rows of {} weights (fitting_type first)", name,
               tensor_type_name(type), cols);
  if (type != TensorType::kF16) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        return make_error("tensor '{}': {} {} needs finite weights, found {} at row {}, column {}",
                          name, type_flag(name), tensor_type_name(type), values[i],
                          static_cast<int64_t>(i) / cols, static_cast<int64_t>(i) % cols);
      }
    }
  }
  std::vector<uint8_t> bytes;
  const int64_t super_blocks = cols / runtime::kKQuantBlockWeights;
  if (type == TensorType::kQ4_K) {
    quantize_rows(values, rows, cols, bytes, super_blocks, runtime::quantize_row_q4_k);
  } else if (type == TensorType::kQ5_K) {
    quantize_rows(values, rows, cols, bytes, super_blocks, runtime::quantize_row_q5_k);
  } else if (type == TensorType::kQ6_K) {
    quantize_rows(values, rows, cols, bytes, super_blocks, runtime::quantize_row_q6_k);
  } else if (type == TensorType::kQ8_0) {
    quantize_rows(values, rows, cols, bytes, cols / runtime::kQ8_0BlockWeights,
                  runtime::quantize_q8_0_row);
  } else {
    SHERRY_CHECK(type == TensorType::kF16);
    bytes.resize(values.size() * sizeof(uint16_t));
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t half = float_to_fp16(values[i]);
      std::memcpy(bytes.data() + 2 * i, &half, 2);
    }
  }
  return bytes;
}

Result<QuantizedTensorRow> add_quantized_layer(Writer& writer, const std::string& name,
                                               std::span<const float> values, int64_t rows,
                                               int64_t cols, const QuantizeOptions& options) {
  SHERRY_TRY(validate_layout(options.layout, rows, cols, name));
  auto packed = quantize_sparse_absmean(values.data(), rows, cols, options.layout, name);
  if (!packed) return packed.error();
  QuantizedTensorRow row{name, "", {cols, rows}, 0, rows * cols, true};
  if (options.format == QuantizeFormat::kSherry) {
    SHERRY_TRY(add_sherry_tensor(writer, name, packed->view()));
    row.type = "sherry";
    row.bytes = static_cast<uint64_t>(rows * packed->view().row_bytes()) +
                packed->scales.size() * sizeof(uint16_t);
  } else {
    SHERRY_TRY(add_stq1_0_tensor(writer, name, packed->view(), options.stq1_0_type));
    row.type = tensor_type_name(options.stq1_0_type);
    row.bytes = static_cast<uint64_t>(rows * (cols / kStq1_0BlockWeights)) * sizeof(Stq1_0Block);
  }
  return row;
}

Result<QuantizeOptions> resolve_quantize_options(const std::string& type,
                                                 std::optional<int64_t> group_size,
                                                 std::optional<std::string> granularity,
                                                 std::optional<std::string> grouping,
                                                 std::optional<uint32_t> stq1_0_id) {
  QuantizeOptions options;
  if (type == "stq1_0") {
    if (group_size || granularity) {
      return make_error(
          "--type stq1_0 fixes the scales (group scales of 256): expected no --group-size or "
          "--granularity, found {}",
          group_size ? "--group-size" : "--granularity");
    }
    options.format = QuantizeFormat::kStq1_0;
    options.layout = kStq1_0Layout;
    if (grouping) {  // contiguous: sherry reads it (the file says so), llama.cpp does not
      auto parsed = parse_block_grouping(*grouping);
      if (!parsed) return parsed.error().with_context("--grouping");
      options.layout = stq1_0_layout(*parsed);
    }
    if (stq1_0_id) {
      if (*stq1_0_id != kStq1_0TypeIdReleased && *stq1_0_id != kStq1_0TypeIdLlamaCpp) {
        return make_error("--stq1_0-id: expected 42 or 43, found {}", *stq1_0_id);
      }
      options.stq1_0_type = static_cast<TensorType>(*stq1_0_id);
    }
    return options;
  }
  if (type != "sherry") return make_error("--type: expected sherry or stq1_0, found '{}'", type);
  if (stq1_0_id)
    return make_error("--stq1_0-id: expected only with --type stq1_0, found --type sherry");
  if (granularity) {
    auto parsed = parse_scale_granularity(*granularity);
    if (!parsed) return parsed.error().with_context("--granularity");
    options.layout.granularity = *parsed;
  }
  if (grouping) {
    auto parsed = parse_block_grouping(*grouping);
    if (!parsed) return parsed.error().with_context("--grouping");
    options.layout.grouping = *parsed;
  }
  if (group_size) {
    if (options.layout.granularity != ScaleGranularity::kGroup) {
      return make_error(
          "--group-size: expected only with --granularity group, found --granularity {}",
          to_string(options.layout.granularity));
    }
    options.layout.group_size = *group_size;
  }
  // The shape-free part of validate_layout: positive, a multiple of 4 (64 for stride16).
  const int64_t quantum = options.layout.grouping == BlockGrouping::kStride16 ? 64 : 4;
  if (options.layout.granularity == ScaleGranularity::kGroup &&
      (options.layout.group_size <= 0 || options.layout.group_size % quantum != 0)) {
    return make_error("--group-size: expected a positive multiple of {} for {} grouping, found {}",
                      quantum, to_string(options.layout.grouping), options.layout.group_size);
  }
  return options;
}

Result<std::optional<TensorType>> parse_float_tensor_type(std::string_view flag,
                                                          std::string_view value) {
  if (value == "q4_k") return std::optional<TensorType>(TensorType::kQ4_K);
  if (value == "q5_k") return std::optional<TensorType>(TensorType::kQ5_K);
  if (value == "q6_k") return std::optional<TensorType>(TensorType::kQ6_K);
  if (value == "q8_0") return std::optional<TensorType>(TensorType::kQ8_0);
  if (value == "f16") return std::optional<TensorType>(TensorType::kF16);
  if (value == "keep") return std::optional<TensorType>();
  return make_error("{}: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found '{}'", flag, value);
}

Result<QuantizeReport> quantize_model(const std::string& in, const std::string& out,
                                      const QuantizeOptions& options) {
  auto opened = Reader::open(in);
  if (!opened) return opened.error();
  const Reader& reader = **opened;
  auto architecture = reader.get_string(names::kArchitecture);
  if (!architecture) return architecture.error();
  const std::string_view known[] = {names::kArchitectureLlama, names::kArchitectureQwen2,
                                    names::kArchitectureQwen3, names::kArchitectureHunyuanDense};
  if (std::find(std::begin(known), std::end(known), *architecture) == std::end(known)) {
    return make_error(
        "{}: key '{}': expected 'llama', 'qwen2', 'qwen3' or 'hunyuan-dense', found '{}'", in,
        names::kArchitecture, *architecture);
  }

  Writer writer;
  for (const auto& [key, value] : reader.metadata()) writer.set(key, value);
  QuantizeReport report;
  for (const TensorInfo& info : reader.tensors()) {
    QuantizedTensorRow row{info.name,
                           tensor_type_name(info.type),
                           info.shape,
                           info.byte_size,
                           info.element_count(),
                           false,
                           {}};
    if (!is_quantized_layer(info.name)) {
      std::optional<TensorType> target = target_type(info, options);
      if (target) target = fitting_type(info.shape.empty() ? 0 : info.shape[0], *target, &row.note);
      if (target && *target != info.type) {
        auto bytes = convert_float_tensor(reader, info, *target, in);
        if (!bytes) return bytes.error();
        writer.add_tensor(info.name, *target, info.shape, *bytes);
        row.type = tensor_type_name(*target);
        row.bytes = bytes->size();
      } else {
        writer.add_tensor(info.name, info.type, info.shape, std::span(info.data, info.byte_size));
      }
      report.tensors.push_back(std::move(row));
      continue;
    }
    if (!is_float_input(info.type)) {
      return make_error("{}: tensor '{}': expected type F32, F16 or BF16 to quantize, found {}", in,
                        info.name, tensor_type_name(info.type));
    }
    SHERRY_TRY(expect_matrix(info, in));
    auto weights = read_float_tensor(reader, info);
    if (!weights) return weights.error();
    auto added =
        add_quantized_layer(writer, info.name, *weights, info.shape[1], info.shape[0], options);
    if (!added) return added.error().with_context(in);
    report.tensors.push_back(std::move(*added));
  }
  const bool any = std::any_of(report.tensors.begin(), report.tensors.end(),
                               [](const QuantizedTensorRow& r) { return r.quantized; });
  if (!any) {
    return make_error(
        "{}: expected blk.N.{{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}}.weight "
        "tensors to quantize, found none among {} tensors",
        in, reader.tensors().size());
  }
  SHERRY_TRY(writer.write(out));
  report.decode_bytes_per_token = decode_bytes_per_token(report.tensors);
  report.input_file_bytes = file_size(in);
  report.output_file_bytes = file_size(out);
  return report;
}

std::string format_quantize_report(const QuantizeReport& report, const std::string& in,
                                   const std::string& out) {
  std::string text = fmt::format("{:<28} {:>8} {:>16} {:>12} {:>9}\n", "tensor", "type", "shape",
                                 "bytes", "bits/w");
  uint64_t quantized_bytes = 0, quantized_weights = 0, all_weights = 0;
  for (const QuantizedTensorRow& row : report.tensors) {
    text += fmt::format("{:<28} {:>8} {:>16} {:>12} {:>9.4f}\n", row.name, row.type,
                        fmt::format("[{}]", fmt::join(row.shape, ", ")), row.bytes,
                        row.bits_per_weight());
    all_weights += static_cast<uint64_t>(row.weights);
    if (row.quantized) {
      quantized_bytes += row.bytes;
      quantized_weights += static_cast<uint64_t>(row.weights);
    }
  }
  auto bits = [](uint64_t bytes, uint64_t weights) {
    return weights ? 8.0 * static_cast<double>(bytes) / static_cast<double>(weights) : 0.0;
  };
  for (const QuantizedTensorRow& row : report.tensors) {
    if (!row.note.empty()) text += fmt::format("note: {}: {}\n", row.name, row.note);
  }
  text += fmt::format("quantized tensors: {} weights, {} bytes, {:.4f} bits/weight\n",
                      quantized_weights, quantized_bytes, bits(quantized_bytes, quantized_weights));
  text += fmt::format("whole file: {} weights, {:.4f} bits/weight\n", all_weights,
                      bits(report.output_file_bytes, all_weights));
  text += fmt::format(
      "decode reads per token: {} bytes of weights ({:.1f} MB; the KV cache adds to it)\n",
      report.decode_bytes_per_token, static_cast<double>(report.decode_bytes_per_token) / 1e6);
  text += fmt::format("input  {}: {} bytes\noutput {}: {} bytes ({:.2f}x smaller)\n", in,
                      report.input_file_bytes, out, report.output_file_bytes,
                      report.output_file_bytes ? static_cast<double>(report.input_file_bytes) /
                                                     static_cast<double>(report.output_file_bytes)
                                               : 0.0);
  return text;
}

}  // namespace sherry::gguf
