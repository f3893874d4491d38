// The llama.cpp metadata keys and tensor names sherry reads and writes, in one place so the
// runtime, the trainer's exporter and the tools agree (docs/gguf.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace sherry::gguf::names {

// ---- general.* ----
inline constexpr std::string_view kArchitecture = "general.architecture";  // "llama"
inline constexpr std::string_view kName = "general.name";
inline constexpr std::string_view kAlignment = "general.alignment";  // uint32, power of two
inline constexpr std::string_view kFileType = "general.file_type";
inline constexpr std::string_view kQuantizationVersion = "general.quantization_version";
inline constexpr std::string_view kArchitectureLlama = "llama";

// ---- llama.* hyperparameters ----
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

// The seven linear layers sherry quantizes (docs/gguf.md §8), in forward order.
inline constexpr std::string_view kQuantizedSuffixes[] = {kAttnQ,   kAttnK, kAttnV,  kAttnOutput,
                                                          kFfnGate, kFfnUp, kFfnDown};

// "blk.3.attn_q.weight" from (3, kAttnQ).
inline std::string block_tensor(int64_t layer, std::string_view suffix) {
  return fmt::format("blk.{}.{}", layer, suffix);
}

}  // namespace sherry::gguf::names
