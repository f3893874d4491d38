// The corpus tokenizer: a SentencePiece BPE model trained on the training split (Llama-style
// settings, so llama.cpp's "llama" tokenizer reads it: byte fallback, split digits, identity
// normalization, dummy prefix), and the encoding of documents into shard tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace sherry::corpus {

inline constexpr uint32_t kUnkId = 0;
inline constexpr uint32_t kBosId = 1;
inline constexpr uint32_t kEosId = 2;
inline constexpr int kDefaultVocabSize = 4096;
// 3 control tokens + 256 byte tokens: the smallest vocabulary with byte fallback.
inline constexpr int kMinVocabSize = 3 + 256 + 1;

struct TokenizerOptions {
  int vocab_size = kDefaultVocabSize;
  bool quiet = true;  // silence SentencePiece's training log (it writes to stderr)
};

// Trains on `sentences` (paragraphs, one per sentence) in the given order, single-threaded
// with no sampling, so equal input gives an identical model. Returns the serialized ModelProto.
Result<std::string> train_tokenizer(const std::vector<std::string>& sentences,
                                    const TokenizerOptions& options);

class Tokenizer {
 public:
  static Result<Tokenizer> from_serialized(const std::string& model, const std::string& name);
  static Result<Tokenizer> load(const std::string& path);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  int vocab_size() const;
  uint32_t newline_id() const { return newline_id_; }  // the byte token <0x0A>
  const sentencepiece::SentencePieceProcessor& processor() const { return *processor_; }

  std::vector<uint32_t> encode(std::string_view text) const;
  // BOS, then the paragraphs joined by '\n' (which encodes as the newline byte token).
  std::vector<uint32_t> encode_document(const Document& document) const;
  std::string decode(const std::vector<uint32_t>& ids) const;
  // Per id, the UTF-8 bytes of text the piece stands for: "▁" counts as the one space byte it
  // encodes, a byte-fallback piece as 1, control, unknown and unused pieces as 0 (bits per byte
  // of a validation text divide by these).
  std::vector<uint8_t> token_byte_lengths() const;

 private:
  Tokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  uint32_t newline_id_ = 0;
};

}  // namespace sherry::corpus
