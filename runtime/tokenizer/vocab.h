// A tokenizer vocabulary as GGUF stores it (tokenizer.ggml.*), validated and indexed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/tokenizer/pre_tokenizer.h"

namespace sherry::gguf {
class Reader;
}

namespace sherry::runtime {

enum class TokenizerKind : uint8_t {
  kSentencePiece,     // tokenizer.ggml.model = "llama": score-driven merges, ▁ for spaces, byte
                      // fallback
  kBytePairEncoding,  // "gpt2": byte-level BPE with ranked merges after a regex pre-tokenizer
};

// llama.cpp's token types (tokenizer.ggml.token_type), defined with the other GGUF names.
using TokenType = gguf::names::TokenType;

inline constexpr int32_t kNoToken = -1;

struct Vocab {
  TokenizerKind kind = TokenizerKind::kSentencePiece;
  PreTokenizer pre = PreTokenizer::kLlama3;  // BPE only
  std::vector<std::string> tokens;
  std::vector<float> scores;  // SentencePiece merge priorities (may be empty for BPE)
  std::vector<TokenType> types;
  std::vector<std::string> merges;  // BPE: "left right", best first
  int32_t bos = kNoToken;
  int32_t eos = kNoToken;
  int32_t eot = kNoToken;  // end of turn, if the vocabulary has one
  int32_t unknown = kNoToken;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = true;  // SentencePiece only
  bool ignore_merges = false;    // BPE: a piece that is itself a token is not merged (llama3)
  std::string chat_template;     // tokenizer.chat_template (Jinja), "" when the file has none

  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
};

// Reads tokenizer.ggml.* and tokenizer.chat_template from a GGUF file. Errors name the file and the
// key: a missing or mistyped key, an unsupported tokenizer model or pre-tokenizer, arrays of
// different lengths, special token ids out of range, a byte-level vocabulary missing one of the 256
// byte tokens.
Result<Vocab> load_vocab(const gguf::Reader& reader);

}  // namespace sherry::runtime
