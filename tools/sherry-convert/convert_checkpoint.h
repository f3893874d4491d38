// A Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json) to a GGUF file the
// runtime and llama.cpp read: the tensors renamed to llama.cpp's names (q and k rows permuted for
// Llama, as llama.cpp's converter does for its RoPE layout), the hyperparameters under
// <architecture>.*, the tokenizer under tokenizer.ggml.*, and the seven linear layers of each
// block quantized to sherry or STQ1_0 by sherry-quantize's code (or all weights kept as F16, BF16
// or F32). docs/convert.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/gguf/gguf_types.h"
#include "tools/sherry-convert/checkpoint_plan.h"
#include "tools/sherry-quantize/quantize_model.h"

namespace sherry::hf {

// The command line's words; unset optionals take the defaults (for sherry: the layout config.json
// says the model was trained with, else contiguous groups of 128).
struct ConvertOptions {
  std::string type = "sherry";  // sherry, stq1_0, f16, bf16 or f32
  std::optional<int64_t> group_size;
  std::optional<std::string> granularity, grouping;
  std::optional<uint32_t> stq1_0_id;
  // output.weight and token_embd.weight with --type sherry|stq1_0: q8_0 (the default), f16, or
  // keep (the checkpoint's dtype).
  std::optional<std::string> output_type, embd_type;
  bool skip_unknown = false;  // tensors it does not know: a warning each, not an error
  std::string pre_tokenizer;  // byte-level pre-tokenizer name when the regex is not a known one
  std::string name;           // general.name (default: the folder's name)
};

struct ConvertReport {
  gguf::QuantizeReport tensors;       // what was written, as sherry-quantize reports it
  std::string architecture;           // "llama", "qwen2", "qwen3"
  std::vector<std::string> warnings;  // accuracy, skipped tensors, ...
};

// Checks `options` alone (the words of the flags). Errors name the flag.
Status validate_convert_options(const ConvertOptions& options);

// Converts the folder `dir` to `out` (written atomically).
Result<ConvertReport> convert_checkpoint(const std::string& dir, const std::string& out,
                                         const ConvertOptions& options);

}  // namespace sherry::hf
