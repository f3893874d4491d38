#include "trainer/qat/export_gguf.h"

#include <span>

#include "core/sparse_absmean.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "trainer/corpus/spm_to_gguf.h"
#include "trainer/qat/trainer.h"

namespace sherry::train {

namespace names = gguf::names;

std::string_view to_string(ExportFormat format) {
  return format == ExportFormat::kFloat ? "float" : "sherry";
}

Result<ExportFormat> parse_export_format(std::string_view text) {
  if (text == "float") return ExportFormat::kFloat;
  if (text == "sherry") return ExportFormat::kSherry;
  return make_error("unknown export format '{}' (expected float or sherry)", text);
}

Status export_gguf(LlamaModel<float>& model, const TrainConfig& config,
                   const ExportOptions& options, const std::string& path) {
  const ModelConfig& c = model.config();
  set_eval_mode(model, config);
  gguf::Writer writer;
  writer.set_string(std::string(names::kArchitecture), std::string(names::kArchitectureLlama));
  writer.set_string(std::string(names::kName), options.name);
  writer.set_uint32(std::string(names::kContextLength), c.seq_len);
  writer.set_uint32(std::string(names::kEmbeddingLength), c.dim);
  writer.set_uint32(std::string(names::kBlockCount), c.n_layers);
  writer.set_uint32(std::string(names::kFeedForwardLength), c.hidden_dim);
  writer.set_uint32(std::string(names::kHeadCount), c.n_heads);
  writer.set_uint32(std::string(names::kHeadCountKv), c.n_kv_heads);
  writer.set_float32(std::string(names::kLayerNormRmsEpsilon), c.norm_eps);
  writer.set_float32(std::string(names::kRopeFreqBase), c.rope_theta);
  writer.set_uint32(std::string(names::kRopeDimensionCount), c.head_dim());
  writer.set_uint32(std::string(names::kVocabSize), c.vocab_size);
  writer.set_string("sherry.training.method", std::string(to_string(config.method)));
  if (!options.tokenizer_path.empty()) {
    auto tokenizer = corpus::gguf_tokenizer_from_spm_file(options.tokenizer_path);
    if (!tokenizer.ok()) return tokenizer.error().with_context("exporting " + path);
    if (static_cast<int>(tokenizer->tokens.size()) > c.vocab_size)
      return make_error("exporting {}: tokenizer {} has {} tokens, the model's vocab_size is {}",
                        path, options.tokenizer_path, tokenizer->tokens.size(), c.vocab_size);
    add_gguf_tokenizer(*tokenizer, writer);
    if (!options.chat_template.empty()) {
      writer.set_string(std::string(names::kTokenizerChatTemplate), options.chat_template);
    }
  }
  for (const TensorSlot& s : model.slots()) {
    const bool matrix = s.rows > 1;
    std::vector<int64_t> shape =
        matrix ? std::vector<int64_t>{s.cols, s.rows} : std::vector<int64_t>{s.cols};
    if (s.role == TensorRole::kLinear && options.format == ExportFormat::kSherry) {
      auto packed = quantize_sparse_absmean(model.params().data() + s.offset, s.rows, s.cols,
                                            config.layout(), s.name);
      if (!packed.ok()) return packed.error().with_context("exporting " + path);
      Status added = gguf::add_sherry_tensor(writer, s.name, packed->view());
      if (!added.ok()) return added.error().with_context("exporting " + path);
      continue;
    }
    const float* w = model.forward_weight(s);
    gguf::add_float_tensor(writer, s.name, gguf::TensorType::kF32, shape,
                           std::span<const float>(w, static_cast<size_t>(s.size())));
  }
  return writer.write(path);
}

}  // namespace sherry::train
