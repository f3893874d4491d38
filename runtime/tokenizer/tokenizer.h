// Text ↔ token ids for the vocabularies of vocab.h (SentencePiece and byte-level BPE), with
// llama.cpp's semantics so its tokenizer test vectors apply unchanged.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/tokenizer/vocab.h"

namespace sherry::runtime {

class Tokenizer {
 public:
  // Validates the vocabulary (see load_vocab for the GGUF path); errors name `source`.
  static Result<Tokenizer> create(Vocab vocab, std::string_view source);
  Tokenizer(Tokenizer&&) = default;
  Tokenizer& operator=(Tokenizer&&) = default;
  Tokenizer(const Tokenizer&) = delete;  // ids_ points into vocab_.tokens
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: BOS/EOS as the vocabulary asks. parse_special: control tokens written out in
  // the text ("<|begin_of_text|>") become their ids; user-defined tokens always do.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes a token stands for (control tokens: nothing, or their text with unparse_special).
  std::string token_to_piece(int32_t id, bool unparse_special = false) const;
  // Concatenated pieces; a SentencePiece vocabulary with a space prefix drops the first space.
  // (Detokenizer below does the same one token at a time.)
  std::string decode(std::span<const int32_t> ids, bool unparse_special = false) const;

  const Vocab& vocab() const { return vocab_; }
  int64_t size() const { return vocab_.size(); }
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  // EOS, EOT, or any other control token that ends a generation.
  bool is_end_of_generation(int32_t id) const;

 private:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  void index();
  // Splits text on special tokens: (token, {}) for a special token, (kNoToken, text) otherwise.
  std::vector<std::pair<int32_t, std::string_view>> split_special(std::string_view text,
                                                                  bool parse_special) const;
  void encode_sentencepiece(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe_piece(std::string_view piece, std::vector<int32_t>& out) const;
  int32_t find(std::string_view text) const;

  Vocab vocab_;
  std::unordered_map<std::string_view, int32_t> ids_;  // into vocab_.tokens
  std::unordered_map<std::string, int32_t> merge_ranks_;
  std::array<int32_t, 256> byte_tokens_{};  // byte fallback (SPM) / byte-level symbol (BPE)
  std::vector<int32_t> specials_;  // control / user-defined / unknown tokens, longest text first
};

// Streaming detokenization: the text of successive tokens, handed out only up to the last
// complete UTF-8 sequence (a code point whose bytes span several tokens, as with byte fallback or
// byte-level BPE, waits for its last byte). All that push and finish return, concatenated, is
// exactly Tokenizer::decode of the same ids.
class Detokenizer {
 public:
  // at_start: the text starts here (nothing shown before it), so a SentencePiece vocabulary with
  // a space prefix drops the first piece's leading space. The tokenizer must outlive this.
  explicit Detokenizer(const Tokenizer& tokenizer, bool at_start = true,
                       bool unparse_special = false);

  // The text completed by token `id` (often its whole piece, possibly nothing).
  std::string push(int32_t id);
  // The bytes still held back (an incomplete sequence at the end, as it is); resets the pending
  // bytes.
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  bool strip_space_;
  bool unparse_special_;
  std::string pending_;
};

// GPT-2's reversible byte ↔ printable code point map used by byte-level BPE vocabularies.
uint32_t byte_to_bpe_code_point(uint8_t byte);
// -1 when the code point is not the image of a byte.
int bpe_code_point_to_byte(uint32_t code_point);

}  // namespace sherry::runtime
