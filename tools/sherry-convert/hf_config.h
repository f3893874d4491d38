// A Hugging Face config.json for the architectures sherry-convert knows: LlamaForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM, plus the quantization-aware training fields AngelSlim's
// Sherry code adds (quant_method, granularity, group_size, N, M).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sherry::hf {

enum class HfArchitecture : uint8_t { kLlama, kQwen2, kQwen3 };

// "LlamaForCausalLM", ...
std::string_view to_string(HfArchitecture architecture);
// The GGUF general.architecture it converts to: "llama", "qwen2", "qwen3".
std::string_view gguf_architecture(HfArchitecture architecture);

// How AngelSlim's Sherry code trained the linear layers (its config.json fields), when it did.
struct SherryTraining {
  std::string quant_method;  // "sherry" for 3:4 sparse ternary
  std::string granularity;   // "per_group", "per_channel", "per_tensor"
  int64_t group_size = 0;
  int64_t n = 0;  // kept weights per block ("N": 3)
  int64_t m = 0;  // block size ("M": 4)
};

struct HfConfig {
  HfArchitecture architecture = HfArchitecture::kLlama;
  int64_t vocab = 0;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;  // "head_dim", else hidden / heads
  bool explicit_head_dim = false;
  int64_t ffn = 0;
  int64_t context = 0;  // max_position_embeddings
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  // rope_scaling: "" (none), "linear" or "llama3".
  std::string rope_scaling;
  double rope_factor = 1.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  int64_t rope_original_context = 0;
  bool tie_embeddings = false;
  bool attention_bias = false;             // q/k/v biases (always for Qwen2)
  std::vector<int64_t> bos_ids, eos_ids;   // bos_token_id / eos_token_id (an int or a list)
  std::optional<SherryTraining> training;  // AngelSlim's fields, when config.json has them
};

// Parses config.json text. Errors name `source` and the key: not JSON, an architecture other
// than the three, a missing or mistyped field, a value out of range, heads that do not divide,
// what sherry does not run (hidden_act other than silu, an o_proj or MLP bias, sliding-window
// attention, a rope_scaling type other than linear and llama3).
Result<HfConfig> parse_hf_config(std::string_view json, const std::string& source);

}  // namespace sherry::hf
