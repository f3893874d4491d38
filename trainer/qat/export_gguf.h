// Export of a trained model to GGUF in deployment mode (λ = 0), readable by sherry's runtime and,
// for the float format, by llama.cpp:
//   float   every tensor F32; q/k/v/o/gate/up/down hold the forward weights at λ = 0 (the latent
//           weights for fp, α·T for the quantized methods)
//   sherry  q/k/v/o/gate/up/down Sherry-packed (runtime/gguf/sherry_tensors.h) from the latent
//           weights by Sparse-AbsMean 3:4 with the run's group size (α stored as fp16); for a
//           method other than sherry / sherry-noarenas this is post-training quantization
// Embeddings, norms and the head stay F32. RoPE is llama.cpp's NORM convention (adjacent pairs),
// so no q/k permutation is needed.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "runtime/gguf/chatml_template.h"
#include "trainer/qat/llama_model.h"
#include "trainer/qat/train_config.h"

namespace sherry::train {

enum class ExportFormat : uint8_t { kFloat, kSherry };
std::string_view to_string(ExportFormat format);  // "float" | "sherry"
Result<ExportFormat> parse_export_format(std::string_view text);

struct ExportOptions {
  ExportFormat format = ExportFormat::kSherry;
  std::string tokenizer_path;  // SentencePiece .model; "" = no tokenizer metadata
  std::string name = "sherry-default";
  // tokenizer.chat_template, written with the tokenizer ("" = none): ChatML, which sherry-run
  // -cnv and sherry-server format conversations with.
  std::string chat_template = std::string(gguf::kChatMlTemplate);
};

// Leaves the model in eval mode (set_eval_mode). Errors: a shape the packed format cannot hold,
// an unreadable tokenizer, a write failure; each names the file and the tensor.
Status export_gguf(LlamaModel<float>& model, const TrainConfig& config,
                   const ExportOptions& options, const std::string& path);

}  // namespace sherry::train
