// The hyperparameters of a Llama-family model, read from llama.cpp's GGUF metadata keys: the
// architectures "llama", "qwen2", "qwen3" and "hunyuan-dense" (one transformer with switches named
// for what differs: RoPE pairing, per-head q/k norms, q/k/v biases; docs/runtime.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sherry::gguf {
class Reader;
}

namespace sherry::runtime {

enum class Architecture : uint8_t {
  kLlama,         // "llama": RoPE on pairs (2i, 2i+1) (llama.cpp's converter permuted q and k)
  kQwen2,         // "qwen2": NEOX RoPE, q/k/v biases
  kQwen3,         // "qwen3": NEOX RoPE, per-head RMSNorm of q and k before RoPE
  kHunyuanDense,  // "hunyuan-dense": NEOX RoPE, per-head RMSNorm of q and k after RoPE
};

// Which dimensions of a head RoPE rotates together (llama.cpp's rope types).
enum class RopeStyle : uint8_t {
  kNorm,  // pairs (2i, 2i+1)
  kNeox,  // pairs (i, i + dims/2)
};

// Where the per-head RMSNorm of q and k (attn_q_norm, attn_k_norm) sits, if anywhere.
enum class QkNorm : uint8_t { kNone, kBeforeRope, kAfterRope };

enum class RopeScaling : uint8_t {
  kNone,
  kLinear,  // positions divided by factor
  kLlama3,  // Llama 3.1 frequency-dependent scaling (low/high frequency factors)
};

struct RopeConfig {
  int64_t dims = 0;  // rotated dimensions of each head
  RopeStyle style = RopeStyle::kNorm;
  float freq_base = 10000.0f;
  RopeScaling scaling = RopeScaling::kNone;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int64_t original_context = 8192;
};

struct LlamaConfig {
  Architecture architecture = Architecture::kLlama;
  QkNorm qk_norm = QkNorm::kNone;
  int64_t vocab = 0;
  int64_t hidden = 0;  // embedding length
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;  // attention.key_length, else hidden / heads
  int64_t ffn = 0;       // feed-forward length
  int64_t context = 0;   // training context length
  float rms_eps = 1e-5f;
  RopeConfig rope;

  int64_t q_dim() const { return heads * head_dim; }
  int64_t kv_dim() const { return kv_heads * head_dim; }
};

// "llama", "qwen2", "qwen3", "hunyuan-dense".
std::string_view to_string(Architecture architecture);

// Reads the <architecture>.* keys (general.architecture one of the four above). The vocabulary
// size comes from <arch>.vocab_size, else from the token embedding's shape. hunyuan-dense's
// rope.scaling.alpha multiplies the RoPE base by alpha^(d/(d-2)) as llama.cpp does. Errors name
// the file and the key: an unknown architecture, a missing key, a value out of range,
// inconsistent head counts.
Result<LlamaConfig> read_llama_config(const gguf::Reader& reader);

}  // namespace sherry::runtime
