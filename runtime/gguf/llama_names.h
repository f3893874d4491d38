// The llama.cpp metadata keys and tensor names sherry reads and writes, in one place so the
// runtime, the trainer's exporter and the tools agree (docs/gguf.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace sherry::gguf::names {

// ---- general.* ----
inline constexpr std::string_view kArchitecture = "general.architecture";  // "llama", ...
inline constexpr std::string_view kName = "general.name";
inline constexpr std::string_view kAlignment = "general.alignment";  // uint32, power of two
inline constexpr std::string_view kFileType = "general.file_type";
inline constexpr std::string_view kQuantizationVersion = "general.quantization_version";
inline constexpr std::string_view kArchitectureLlama = "llama";
inline constexpr std::string_view kArchitectureQwen2 = "qwen2";
inline constexpr std::string_view kArchitectureQwen3 = "qwen3";
inline constexpr std::string_view kArchitectureHunyuanDense = "hunyuan-dense";

// ---- llama.* hyperparameters (other architectures use the same keys under their own prefix:
// arch_key below) ----
inline constexpr std::string_view kBlockCount = "llama.block_count";
inline constexpr std::string_view kEmbeddingLength = "llama.embedding_length";
inline constexpr std::string_view kFeedForwardLength = "llama.feed_forward_length";
inline constexpr std::string_view kHeadCount = "llama.attention.head_count";
inline constexpr std::string_view kHeadCountKv = "llama.attention.head_count_kv";
inline constexpr std::string_view kLayerNormRmsEpsilon = "llama.attention.layer_norm_rms_epsilon";
inline constexpr std::string_view kRopeFreqBase = "llama.rope.freq_base";
inline constexpr std::string_view kRopeDimensionCount = "llama.rope.dimension_count";
inline constexpr std::string_view kContextLength = "llama.context_length";
inline constexpr std::string_view kVocabSize = "llama.vocab_size";
// RoPE scaling (Llama 3.1 style "llama3", "linear", "yarn", "none").
inline constexpr std::string_view kRopeScalingType = "llama.rope.scaling.type";
inline constexpr std::string_view kRopeScalingFactor = "llama.rope.scaling.factor";
inline constexpr std::string_view kRopeScalingOriginalContextLength =
    "llama.rope.scaling.original_context_length";
inline constexpr std::string_view kRopeScalingLowFreqFactor = "llama.rope.scaling.low_freq_factor";
inline constexpr std::string_view kRopeScalingHighFreqFactor =
    "llama.rope.scaling.high_freq_factor";
// Head width when it is not embedding_length / head_count (Qwen3), and HunYuan's NTK alpha.
inline constexpr std::string_view kKeyLength = "llama.attention.key_length";
inline constexpr std::string_view kValueLength = "llama.attention.value_length";
inline constexpr std::string_view kRopeScalingAlpha = "llama.rope.scaling.alpha";

// The key of `llama_key` for another architecture: ("qwen3", "llama.block_count") →
// "qwen3.block_count".
inline std::string arch_key(std::string_view architecture, std::string_view llama_key) {
  constexpr std::string_view kLlamaPrefix = "llama.";
  if (llama_key.starts_with(kLlamaPrefix)) llama_key.remove_prefix(kLlamaPrefix.size());
  return fmt::format("{}.{}", architecture, llama_key);
}

// ---- tokenizer.ggml.* ----
inline constexpr std::string_view kTokenizerModel = "tokenizer.ggml.model";  // "llama", "gpt2", ...
inline constexpr std::string_view kTokenizerPre = "tokenizer.ggml.pre";      // pre-tokenizer name
inline constexpr std::string_view kTokenizerTokens = "tokenizer.ggml.tokens";         // [string]
inline constexpr std::string_view kTokenizerScores = "tokenizer.ggml.scores";         // [float32]
inline constexpr std::string_view kTokenizerTokenType = "tokenizer.ggml.token_type";  // [int32]
inline constexpr std::string_view kTokenizerMerges = "tokenizer.ggml.merges";         // [string]
inline constexpr std::string_view kTokenizerBosId = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kTokenizerEosId = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kTokenizerUnknownId = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view kTokenizerSeparatorId = "tokenizer.ggml.seperator_token_id";
inline constexpr std::string_view kTokenizerPaddingId = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view kTokenizerAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view kTokenizerAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view kTokenizerAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr std::string_view kTokenizerChatTemplate = "tokenizer.chat_template";

// llama.cpp's token types (tokenizer.ggml.token_type values).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// ---- tensor names ----
inline constexpr std::string_view kTokenEmbedding = "token_embd.weight";  // ne = [hidden, vocab]
inline constexpr std::string_view kOutputNorm = "output_norm.weight";     // ne = [hidden]
inline constexpr std::string_view kOutput = "output.weight";              // ne = [hidden, vocab]

// Per-layer tensors: blk.N.<suffix>.
inline constexpr std::string_view kAttnNorm = "attn_norm.weight";      // ne = [hidden]
inline constexpr std::string_view kAttnQ = "attn_q.weight";            // ne = [hidden, heads·hd]
inline constexpr std::string_view kAttnK = "attn_k.weight";            // ne = [hidden, kv·hd]
inline constexpr std::string_view kAttnV = "attn_v.weight";            // ne = [hidden, kv·hd]
inline constexpr std::string_view kAttnOutput = "attn_output.weight";  // ne = [heads·hd, hidden]
inline constexpr std::string_view kFfnNorm = "ffn_norm.weight";        // ne = [hidden]
inline constexpr std::string_view kFfnGate = "ffn_gate.weight";        // ne = [hidden, ffn]
inline constexpr std::string_view kFfnUp = "ffn_up.weight";            // ne = [hidden, ffn]
inline constexpr std::string_view kFfnDown = "ffn_down.weight";        // ne = [ffn, hidden]
// The layers of a block that read the same input, which the runtime stacks into one matrix each
// where their weights allow (runtime/linear_group.h), in this order.
inline constexpr std::string_view kAttnQkv[] = {kAttnQ, kAttnK, kAttnV};
inline constexpr std::string_view kFfnGateUp[] = {kFfnGate, kFfnUp};
// Optional q/k/v biases (Qwen2; any architecture may carry them, as in llama.cpp).
inline constexpr std::string_view kAttnQBias = "attn_q.bias";  // ne = [heads·hd]
inline constexpr std::string_view kAttnKBias = "attn_k.bias";  // ne = [kv·hd]
inline constexpr std::string_view kAttnVBias = "attn_v.bias";  // ne = [kv·hd]
// Per-head RMSNorm gains of q and k (Qwen3 before RoPE, HunYuan after).
inline constexpr std::string_view kAttnQNorm = "attn_q_norm.weight";  // ne = [hd]
inline constexpr std::string_view kAttnKNorm = "attn_k_norm.weight";  // ne = [hd]
// Llama 3.1's RoPE frequency divisors, as llama.cpp's converter writes them.
inline constexpr std::string_view kRopeFreqs = "rope_freqs.weight";  // ne = [rope dims / 2]

// The seven linear layers sherry quantizes (docs/gguf.md §8), in forward order.
inline constexpr std::string_view kQuantizedSuffixes[] = {kAttnQ,   kAttnK, kAttnV,  kAttnOutput,
                                                          kFfnGate, kFfnUp, kFfnDown};

// "blk.3.attn_q.weight" from (3, kAttnQ).
inline std::string block_tensor(int64_t layer, std::string_view suffix) {
  return fmt::format("blk.{}.{}", layer, suffix);
}

}  // namespace sherry::gguf::names
