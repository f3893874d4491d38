// Byte-level BPE pre-tokenizers: split text into the pieces BPE merges within, exactly as the
// regexes of the original tokenizers do (hand-written matchers: std::regex has no \p{L}).
//   llama3 (llama-bpe): (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//                       ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:              the same with \p{N} (one digit per piece)
//   gpt-2:              's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   hunyuan-dense (= deepseek-v3): three regexes, each splitting the pieces of the one before
//                       (matches and the text between them both become pieces):
//                       \p{N}{1,3}
//                       [一-龥぀-ゟ゠-ヿ]+
//                       [!-/:-@\[-`{-~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
//                       ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//                       (the first class is every ASCII punctuation and symbol character)
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace sherry::runtime {

enum class PreTokenizer : uint8_t { kLlama3, kQwen2, kGpt2, kHunyuanDense };

// From tokenizer.ggml.pre ("llama-bpe", "llama3", "qwen2", "gpt-2", "hunyuan-dense", ...); nullopt
// when unknown.
std::optional<PreTokenizer> parse_pre_tokenizer(std::string_view name);

// Pieces in order; their concatenation is `text` (malformed UTF-8 bytes included).
std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind);

}  // namespace sherry::runtime
