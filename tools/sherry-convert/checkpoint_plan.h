// Which tensors of a Hugging Face checkpoint become which GGUF tensors, checked before any is
// converted: every tensor the architecture needs present with the shape config.json implies and a
// float dtype, and nothing the architecture does not have (unless skipped on purpose).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "tools/sherry-convert/hf_config.h"
#include "tools/sherry-convert/safetensors.h"

namespace sherry::hf {

// One tensor to convert: "model.layers.3.self_attn.q_proj.weight" → "blk.3.attn_q.weight".
struct TensorPlan {
  std::string hf_name;
  std::string gguf_name;
  std::vector<int64_t> shape;  // expected, PyTorch order ([rows, cols] for a matrix)
  enum class Kind : uint8_t { kEmbedding, kHead, kLinear, kVector } kind = Kind::kVector;
  int64_t permute_heads = 0;  // Llama q/k: the head count of llama.cpp's row permutation
};

// The tensors a checkpoint of `config` must have, in the order they are written, checked against
// the checkpoint's (names, dtypes F32/F16/BF16, shapes). Dropped on purpose: rotary_emb.inv_freq
// buffers, and lm_head.weight when the embeddings are tied (a warning). Tensors it does not know
// are an error naming them, or with skip_unknown a warning each. Errors name the folder and the
// tensor.
Result<std::vector<TensorPlan>> plan_conversion(const HfConfig& config,
                                                std::span<const SafetensorsTensor* const> tensors,
                                                const std::string& dir, bool skip_unknown,
                                                std::vector<std::string>* warnings);

}  // namespace sherry::hf
