// A random-weight Llama-family model in GGUF (llama, qwen2, qwen3 or hunyuan-dense), of any shape,
// with a byte-level SentencePiece-style vocabulary, so the runtime, the quantizer, the
// cross-checks and the benchmarks have models without a model hub (docs/gguf.md §Random models).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/gguf/gguf_types.h"

namespace sherry::gguf {

struct RandomModelSpec {
  std::string architecture = "llama";  // general.architecture; keys are <architecture>.*
  int64_t hidden = 128;                // llama.embedding_length
  int64_t layers = 2;                  // llama.block_count
  int64_t heads = 4;                   // llama.attention.head_count
  int64_t kv_heads = 2;                // llama.attention.head_count_kv
  int64_t ffn = 256;                   // llama.feed_forward_length
  int64_t vocab = 512;                 // tokens: <unk>, <s>, </s>, 256 bytes, then pieces
  int64_t context = 256;               // llama.context_length
  TensorType type = TensorType::kF32;  // of the linear layers, embeddings and head; norms are F32
  uint64_t seed = 1;
  float rope_base = 10000.0f;
  float rms_epsilon = 1e-5f;
  int64_t head_dim = 0;         // attention.key_length; 0: hidden / heads (and no key written)
  bool tie_embeddings = false;  // no output.weight: the head is the token embedding
  float rope_alpha = 0.0f;      // hunyuan-dense rope.scaling.alpha (NTK), written when > 0
  // qwen2 gets q/k/v biases, qwen3 and hunyuan-dense per-head q/k norm gains (as those models).
};

inline constexpr int64_t kByteTokenOffset = 3;  // <0x00> is token 3
inline constexpr int64_t kMinRandomModelVocab = kByteTokenOffset + 256;

// Checks the shape: a known architecture, everything positive, heads divides hidden into an even
// head size (or an even head_dim), kv_heads divides heads, vocab at least 259, type F32, F16 or
// BF16.
Status validate_random_model_spec(const RandomModelSpec& spec);

// The vocabulary: <unk>, <s>, </s>, <0x00>..<0xFF>, then pieces ("▁", printable ASCII, "▁a",
// "ab", ...) in order of decreasing score, all distinct.
std::vector<std::string> random_model_vocab(int64_t vocab);

// Writes the model atomically. The same spec gives the same bytes.
Status write_random_model(const RandomModelSpec& spec, const std::string& path);

// "f32" | "f16" | "bf16".
Result<TensorType> parse_float_type(const std::string& text);

}  // namespace sherry::gguf
