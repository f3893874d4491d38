#include "tools/sherry-convert/convert_checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/ranges.h>

#include "core/stq1_0.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/llama_config.h"
#include "runtime/rope.h"
#include "tools/sherry-convert/hf_tokenizer.h"

namespace sherry::hf {
namespace {

namespace fs = std::filesystem;
namespace names = gguf::names;
using gguf::TensorType;
using Kind = TensorPlan::Kind;

// Text files of a checkpoint folder are small; anything larger is not one of them.
constexpr uintmax_t kMaxTextFile = uintmax_t{512} << 20;

Result<std::string> read_text(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return make_error("{}: cannot read: {}", path.string(), ec.message());
  if (size > kMaxTextFile) {
    return make_error("{}: expected a text file of at most {} bytes, found {} bytes", path.string(),
                      kMaxTextFile, size);
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return make_error("{}: cannot read", path.string());
  return text.str();
}

TensorType gguf_float_type(Dtype dtype) {
  return dtype == Dtype::kF32   ? TensorType::kF32
         : dtype == Dtype::kF16 ? TensorType::kF16
                                : TensorType::kBF16;
}

// llama.cpp's LlamaModel.permute: within each of `heads` heads of a q or k projection, rows
// (j·hd/2 + i) move to (2i + j), so the pairs RoPE rotates (i, i + hd/2) of the Hugging Face
// layout become the adjacent pairs (2i, 2i + 1) of llama.cpp's NORM RoPE. `cols` values per row
// (1 for a bias).
std::vector<float> permute_rows(const std::vector<float>& values, int64_t heads, int64_t cols) {
  const auto rows = static_cast<int64_t>(values.size()) / cols;
  const int64_t hd = rows / heads;
  std::vector<float> out(values.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < hd / 2; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t from = h * hd + j * (hd / 2) + i;
        const int64_t to = h * hd + 2 * i + j;
        std::copy_n(values.begin() + from * cols, cols, out.begin() + to * cols);
      }
    }
  }
  return out;
}

// The words of --output-type / --embd-type with sherry's default.
Result<std::optional<TensorType>> head_type(const std::optional<std::string>& word,
                                            std::string_view flag) {
  return gguf::parse_float_tensor_type(flag, word.value_or("q8_0"));
}

// Whether config.json says the linear layers were trained as 3:4 sparse ternary (AngelSlim's
// Sherry code: quant_method "sherry", N 3 of M 4).
bool trained_sherry(const HfConfig& config) {
  return config.training && config.training->quant_method == "sherry" && config.training->n == 3 &&
         config.training->m == 4;
}

// The layout the quantizer gets, and the warnings about accuracy it costs. A sherry file of a
// model trained 3:4 takes the training's layout unless the flags say otherwise.
Result<gguf::QuantizeOptions> quantize_options(const ConvertOptions& o, const HfConfig& config,
                                               std::vector<std::string>& warnings) {
  std::optional<int64_t> group_size = o.group_size;
  std::optional<std::string> granularity = o.granularity;
  std::optional<std::string> grouping = o.grouping;
  const bool layout_given = group_size || granularity || grouping;
  const bool trained = trained_sherry(config);
  std::string trained_granularity;  // sherry's word for the training's scale granularity
  if (trained) {
    const std::string& g = config.training->granularity;
    trained_granularity = g == "per_channel" ? "channel" : g == "per_tensor" ? "tensor" : "group";
    if (o.type == "sherry" && !layout_given) {
      granularity = trained_granularity;
      grouping = "contiguous";
      if (trained_granularity == "group") group_size = config.training->group_size;
    }
  }
  auto options =
      gguf::resolve_quantize_options(o.type, group_size, granularity, grouping, o.stq1_0_id);
  if (!options) return options.error();
  auto output = head_type(o.output_type, "--output-type");
  if (!output) return output.error();
  auto embd = head_type(o.embd_type, "--embd-type");
  if (!embd) return embd.error();
  options->output_type = *output;
  options->embd_type = *embd;

  const WeightLayout& layout = options->layout;
  if (!trained) {
    warnings.push_back(
        "config.json says nothing of 3:4 sparse ternary training (no quant_method \"sherry\" "
        "with N 3 and M 4): quantizing weights trained in full precision to 1.25 bits loses "
        "much of the model's accuracy (train it with quantization-aware training first: "
        "AngelSlim's Sherry code or sherry-train; --type f16 converts it without loss)");
    return options;
  }
  if (layout.grouping != BlockGrouping::kContiguous) {
    warnings.push_back(fmt::format(
        "the model was trained with 3:4 blocks of consecutive weights; {} groups weights 16 "
        "apart (stride16, llama.cpp's STQ1_0 layout), so the trained pattern is re-derived from "
        "the latent weights and accuracy drops (--grouping contiguous keeps it{})",
        o.type == "stq1_0" ? "--type stq1_0" : "--grouping stride16",
        o.type == "stq1_0" ? ", in an STQ1_0 file only sherry reads" : ""));
  }
  const bool same_scales =
      layout.granularity == (trained_granularity == "channel"  ? ScaleGranularity::kChannel
                             : trained_granularity == "tensor" ? ScaleGranularity::kTensor
                                                               : ScaleGranularity::kGroup) &&
      (layout.granularity != ScaleGranularity::kGroup ||
       layout.group_size == config.training->group_size);
  if (!same_scales) {
    warnings.push_back(fmt::format(
        "the model was trained with {} scales{}; this file has {} scales{}: the ternary "
        "pattern stays, the scales change, and accuracy drops a little",
        trained_granularity,
        trained_granularity == "group" ? fmt::format(" of {}", config.training->group_size) : "",
        to_string(layout.granularity),
        layout.granularity == ScaleGranularity::kGroup ? fmt::format(" of {}", layout.group_size)
                                                       : ""));
  }
  return options;
}

uint64_t file_bytes(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
}

// llama.cpp's general.file_type for an all-float file.
uint32_t float_file_type(TensorType type) {
  return type == TensorType::kF16 ? 1 : type == TensorType::kBF16 ? 32 : 0;
}

}  // namespace

Status validate_convert_options(const ConvertOptions& o) {
  static const std::set<std::string> kTypes = {"sherry", "stq1_0", "f16", "bf16", "f32"};
  if (kTypes.count(o.type) == 0) {
    return make_error("--type: expected sherry, stq1_0, f16, bf16 or f32, found '{}'", o.type);
  }
  if (o.type == "sherry" || o.type == "stq1_0") {
    auto q = gguf::resolve_quantize_options(o.type, o.group_size, o.granularity, o.grouping,
                                            o.stq1_0_id);
    if (!q) return q.error();
    auto output = head_type(o.output_type, "--output-type");
    if (!output) return output.error();
    auto embd = head_type(o.embd_type, "--embd-type");
    if (!embd) return embd.error();
    return {};
  }
  const std::pair<const char*, bool> quantizer_flags[] = {
      {"--group-size", o.group_size.has_value()},   {"--granularity", o.granularity.has_value()},
      {"--grouping", o.grouping.has_value()},       {"--stq1_0-id", o.stq1_0_id.has_value()},
      {"--output-type", o.output_type.has_value()}, {"--embd-type", o.embd_type.has_value()}};
  for (const auto& [flag, given] : quantizer_flags) {
    if (given) {
      return make_error(
          "{}: expected only with --type sherry or stq1_0, found --type {} (which writes every "
          "weight matrix as {})",
          flag, o.type, o.type);
    }
  }
  return {};
}

Result<ConvertReport> convert_checkpoint(const std::string& dir, const std::string& out,
                                         const ConvertOptions& options) {
  SHERRY_TRY(validate_convert_options(options));
  const fs::path folder(dir);
  auto config_text = read_text(folder / "config.json");
  if (!config_text) return config_text.error();
  auto config = parse_hf_config(*config_text, (folder / "config.json").string());
  if (!config) return config.error();
  const HfConfig& c = *config;
  auto checkpoint = Checkpoint::open(dir);
  if (!checkpoint) return checkpoint.error();

  ConvertReport report;
  report.architecture = std::string(gguf_architecture(c.architecture));
  auto plan =
      plan_conversion(c, checkpoint->tensors(), dir, options.skip_unknown, &report.warnings);
  if (!plan) return plan.error();

  TokenizerFiles files;
  files.tokenizer_path = (folder / "tokenizer.json").string();
  auto tokenizer_json = read_text(folder / "tokenizer.json");
  if (!tokenizer_json) {
    return make_error(
        "{}: expected tokenizer.json (the tokenizer in Hugging Face's format), "
        "found none: {}",
        dir, tokenizer_json.error().message());
  }
  files.tokenizer_json = std::move(*tokenizer_json);
  files.config_path = (folder / "tokenizer_config.json").string();
  if (fs::exists(files.config_path)) {
    auto text = read_text(files.config_path);
    if (!text) return text.error();
    files.config_json = std::move(*text);
  }
  if (fs::exists(folder / "chat_template.jinja")) {
    auto text = read_text(folder / "chat_template.jinja");
    if (!text) return text.error();
    files.chat_template = std::move(*text);
  }
  auto vocab = convert_hf_tokenizer(files, c.vocab, c, options.pre_tokenizer);
  if (!vocab) return vocab.error();

  const bool quantize = options.type == "sherry" || options.type == "stq1_0";
  gguf::QuantizeOptions q;
  if (quantize) {
    auto resolved = quantize_options(options, c, report.warnings);
    if (!resolved) return resolved.error();
    q = *resolved;
  }
  const TensorType float_type = options.type == "f16"    ? TensorType::kF16
                                : options.type == "bf16" ? TensorType::kBF16
                                                         : TensorType::kF32;

  gguf::Writer writer;
  const std::string& arch = report.architecture;
  auto key = [&](std::string_view llama_key) { return names::arch_key(arch, llama_key); };
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  writer.set_string(std::string(names::kArchitecture), arch);
  writer.set_string(std::string(names::kName),
                    options.name.empty()
                        ? fs::absolute(folder).lexically_normal().filename().string()
                        : options.name);
  if (!quantize) writer.set_uint32(std::string(names::kFileType), float_file_type(float_type));
  writer.set_uint32(key(names::kContextLength), u32(c.context));
  writer.set_uint32(key(names::kEmbeddingLength), u32(c.hidden));
  writer.set_uint32(key(names::kBlockCount), u32(c.layers));
  writer.set_uint32(key(names::kFeedForwardLength), u32(c.ffn));
  writer.set_uint32(key(names::kHeadCount), u32(c.heads));
  writer.set_uint32(key(names::kHeadCountKv), u32(c.kv_heads));
  if (c.explicit_head_dim) {
    writer.set_uint32(key(names::kKeyLength), u32(c.head_dim));
    writer.set_uint32(key(names::kValueLength), u32(c.head_dim));
  }
  writer.set_float32(key(names::kRopeFreqBase), static_cast<float>(c.rope_theta));
  writer.set_uint32(key(names::kRopeDimensionCount), u32(c.head_dim));
  writer.set_float32(key(names::kLayerNormRmsEpsilon), static_cast<float>(c.rms_eps));
  writer.set_uint32(key(names::kVocabSize), u32(c.vocab));
  if (c.rope_scaling == "linear") {
    writer.set_string(key(names::kRopeScalingType), "linear");
    writer.set_float32(key(names::kRopeScalingFactor), static_cast<float>(c.rope_factor));
  }
  add_hf_vocab(writer, *vocab);

  gguf::QuantizeReport& rows = report.tensors;
  for (const TensorPlan& p : *plan) {
    const SafetensorsTensor& t = *checkpoint->find(p.hf_name);
    auto values = read_floats(t);
    if (!values) return values.error();
    const int64_t cols = p.shape.size() == 2 ? p.shape[1] : 1;
    const int64_t count = static_cast<int64_t>(values->size());
    if (p.permute_heads > 0) *values = permute_rows(*values, p.permute_heads, cols);
    std::vector<int64_t> ne(p.shape.rbegin(), p.shape.rend());  // GGUF order
    gguf::QuantizedTensorRow row{p.gguf_name, "", ne, 0, count, false};
    if (p.kind == Kind::kLinear && quantize) {
      auto added = gguf::add_quantized_layer(writer, p.gguf_name, *values, p.shape[0], cols, q);
      if (!added)
        return added.error().with_context(fmt::format("{}: tensor '{}'", *t.file, t.name));
      row = std::move(*added);
    } else if ((p.kind == Kind::kEmbedding || p.kind == Kind::kHead) && quantize) {
      const std::optional<TensorType> target = p.kind == Kind::kHead ? q.output_type : q.embd_type;
      if (!target) {  // keep the checkpoint's dtype
        gguf::add_float_tensor(writer, p.gguf_name, gguf_float_type(t.dtype), ne, *values);
        row.type = gguf::tensor_type_name(gguf_float_type(t.dtype));
        row.bytes = static_cast<uint64_t>(count * dtype_bytes(t.dtype));
      } else {
        const TensorType type = gguf::fitting_type(cols, *target, &row.note);
        auto bytes = gguf::convert_float_values(p.gguf_name, *values, p.shape[0], cols, type);
        if (!bytes) return bytes.error().with_context(*t.file);
        writer.add_tensor(p.gguf_name, type, ne, *bytes);
        row.type = gguf::tensor_type_name(type);
        row.bytes = bytes->size();
      }
    } else {
      const TensorType type = p.kind == Kind::kVector ? TensorType::kF32 : float_type;
      gguf::add_float_tensor(writer, p.gguf_name, type, ne, *values);
      row.type = gguf::tensor_type_name(type);
      row.bytes = static_cast<uint64_t>(count * (type == TensorType::kF32 ? 4 : 2));
    }
    rows.tensors.push_back(std::move(row));
  }
  if (c.rope_scaling == "llama3") {
    // llama.cpp's converter stores Llama 3.1's frequency divisors as a tensor.
    runtime::RopeConfig rope;
    rope.dims = c.head_dim;
    rope.freq_base = static_cast<float>(c.rope_theta);
    rope.factor = static_cast<float>(c.rope_factor);
    rope.low_freq_factor = static_cast<float>(c.rope_low_freq_factor);
    rope.high_freq_factor = static_cast<float>(c.rope_high_freq_factor);
    rope.original_context = c.rope_original_context;
    const std::vector<float> factors = runtime::llama3_rope_factors(rope);
    gguf::add_float_tensor(writer, std::string(names::kRopeFreqs), TensorType::kF32,
                           {static_cast<int64_t>(factors.size())}, factors);
  }
  SHERRY_TRY(writer.write(out));
  rows.decode_bytes_per_token = gguf::decode_bytes_per_token(rows.tensors);
  for (const std::string& file : checkpoint->files()) rows.input_file_bytes += file_bytes(file);
  rows.output_file_bytes = file_bytes(out);
  return report;
}

}  // namespace sherry::hf
