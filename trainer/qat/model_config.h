// The Llama configuration the trainer builds and the runtime reads back from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"

namespace sherry::train {

struct ModelConfig {
  int dim = 256;  // embedding width
  int n_layers = 6;
  int n_heads = 8;
  int n_kv_heads = 4;    // GQA: query head h reads kv head h / (n_heads / n_kv_heads)
  int hidden_dim = 768;  // SwiGLU width
  int vocab_size = 4096;
  int seq_len = 256;  // training context; RoPE positions 0 .. seq_len-1
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool tied_embeddings = true;  // LM head = token embedding table

  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_dim(); }
  bool operator==(const ModelConfig&) const = default;
};

// Checks the shape constraints (divisibility, positive sizes); `what` names the source in messages.
Status validate_model_config(const ModelConfig& config, const std::string& what);

// JSON object with the field names above; missing fields keep their defaults, unknown fields are
// an error (a typo must not silently train the wrong model).
Result<ModelConfig> model_config_from_json(const nlohmann::json& json, const std::string& what);
nlohmann::json model_config_to_json(const ModelConfig& config);

int64_t parameter_count(const ModelConfig& config);

}  // namespace sherry::train
