// Test support: a tiny random Llama-family model (llama, qwen2, qwen3, hunyuan-dense) written
// through the GGUF writer (float or Sherry-quantized linear layers, with a small SentencePiece
// vocabulary), and a naive float forward pass over the same weights, as plain as llama2.c's and
// written from the architectures' Hugging Face definitions, to check the runtime against.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/weight_layout.h"
#include "runtime/gguf/gguf_types.h"

namespace sherry::runtime::testing {

enum class LinearFormat { kF32, kF16, kBF16, kSherry, kStq1_0 };

struct TinySpec {
  int64_t hidden = 128;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t kv_heads = 2;
  int64_t ffn = 256;
  int64_t context = 96;
  float rope_base = 10000.0f;
  bool llama3_rope = false;  // Llama 3.1 frequency scaling in the metadata
  bool tied_output = false;
  bool q8_0_output = false;  // output.weight stored as GGUF Q8_0
  // output.weight and token_embd.weight: F32, or a K-quant (Q4_K, Q5_K, Q6_K; hidden a multiple
  // of 256) quantized by the runtime and decoded back by the test's own decoder.
  gguf::TensorType output_type = gguf::TensorType::kF32;
  gguf::TensorType embedding_type = gguf::TensorType::kF32;
  LinearFormat format = LinearFormat::kF32;
  uint32_t seed = 1;
  // "llama", "qwen2" (q/k/v biases), "qwen3" (q/k norms before RoPE), "hunyuan-dense" (q/k norms
  // after RoPE); the last three rotate NEOX pairs. Others are written as given (error tests).
  std::string architecture = "llama";
  int64_t head_dim = 0;     // attention.key_length when not 0 (else hidden / heads)
  float rope_alpha = 0.0f;  // hunyuan-dense rope.scaling.alpha when not 0
  // STQ1_0 block grouping, and whether sherry.block_grouping says it.
  BlockGrouping stq1_0_grouping = BlockGrouping::kStride16;
  bool declare_stq1_0_grouping = true;
  // Faults for the error tests.
  std::string tokenizer_model = "llama";  // "" writes no tokenizer
  std::string chat_template;              // tokenizer.chat_template when not ""
  int32_t eos_id = 2;                     // tokenizer.ggml.eos_token_id
  bool zero_output_norm = false;          // every logit 0: greedy decoding picks token 0
  bool chat_template_not_string = false;  // tokenizer.chat_template as a number (a fault)
  std::string drop_tensor;                // a tensor left out
  std::string q4_0_tensor;                // a linear layer stored as Q4_0 (unsupported)
  int64_t metadata_ffn = 0;               // llama.feed_forward_length if not 0
  int64_t metadata_kv_heads = 0;          // llama.attention.head_count_kv if not 0
};

// Weights row-major [rows][cols] (the GGUF element order).
struct TinyWeights {
  TinySpec spec;
  int64_t vocab = 0;
  std::vector<float> embedding;  // vocab × hidden
  struct Layer {
    std::vector<float> attn_norm, ffn_norm, q, k, v, o, gate, up, down;
    std::vector<float> q_bias, k_bias, v_bias;  // qwen2
    std::vector<float> q_norm, k_norm;          // qwen3, hunyuan-dense
  };
  std::vector<Layer> layers;
  std::vector<float> output_norm;
  std::vector<float> output;  // vocab × hidden (the embedding when tied)
};

// Writes the model to `path` and returns its weights as floats (F16-rounded, or the dequantized
// α·t of quantized formats).
TinyWeights write_tiny_llama(const std::string& path, const TinySpec& spec);

// Logits (tokens.size() × vocab) of a full causal pass in double precision, no KV cache. With
// `head_input`, also the input of the LM head per token (the final RMSNorm's output,
// tokens.size() × hidden).
std::vector<float> naive_forward(const TinyWeights& w, const std::vector<int32_t>& tokens,
                                 std::vector<double>* head_input = nullptr);

// GGUF Q8_0 bytes built by hand from the format's documentation (ggml's block_q8_0:
// `ggml_half d; int8_t qs[32]`, 34 bytes per 32 weights, d little-endian fp16 = max|x|/127,
// q = round(x/d), value = d·q), not by the runtime's quantizer, so the runtime's Q8_0 code is
// checked against an oracle of its own. Rows of `cols` weights; replaces `values` by what the
// blocks decode to.
std::vector<uint8_t> q8_0_by_hand(std::vector<float>& values, int64_t cols);

// A fresh path under the system temp dir for this test process.
std::string temp_path(const std::string& name);

// `count` token ids below `vocab` from a seeded linear congruential generator.
std::vector<int32_t> sample_tokens(int64_t count, int64_t vocab, uint32_t seed);

// Largest |a − b| relative to the largest |b| (sizes must match).
double relative_error(std::span<const float> a, std::span<const float> b);

}  // namespace sherry::runtime::testing
