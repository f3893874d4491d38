// The hyperparameters of a Llama-family model, read from llama.cpp's GGUF metadata keys.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace sherry::gguf {
class Reader;
}

namespace sherry::runtime {

enum class RopeScaling : uint8_t {
  kNone,
  kLinear,  // positions divided by factor
  kLlama3,  // Llama 3.1 frequency-dependent scaling (low/high frequency factors)
};

struct RopeConfig {
  int64_t dims = 0;  // rotated dimensions of each head (pairs (2i, 2i+1), llama.cpp's NORM mode)
  float freq_base = 10000.0f;
  RopeScaling scaling = RopeScaling::kNone;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int64_t original_context = 8192;
};

struct LlamaConfig {
  int64_t vocab = 0;
  int64_t hidden = 0;  // embedding length
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;  // hidden / heads
  int64_t ffn = 0;       // feed-forward length
  int64_t context = 0;   // training context length
  float rms_eps = 1e-5f;
  RopeConfig rope;

  int64_t q_dim() const { return heads * head_dim; }
  int64_t kv_dim() const { return kv_heads * head_dim; }
};

// Reads llama.* keys (general.architecture must be "llama"). The vocabulary size comes from
// llama.vocab_size, else from the token embedding's shape. Errors name the file and the key: an
// unknown architecture, a missing key, a value out of range, inconsistent head counts.
Result<LlamaConfig> read_llama_config(const gguf::Reader& reader);

}  // namespace sherry::runtime
