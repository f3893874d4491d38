#include "runtime/tokenizer/vocab.h"

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"

namespace sherry::runtime {
namespace names = gguf::names;
namespace {

// An optional boolean key; a key of another type is an error.
Result<bool> optional_bool(const gguf::Reader& reader, std::string_view key, bool fallback) {
  const gguf::Value* value = reader.find(key);
  if (value == nullptr) return fallback;
  if (const bool* b = std::get_if<bool>(&value->data)) return *b;
  return make_error("{}: metadata key {}: expected a bool, found value type {}", reader.path(), key,
                    static_cast<uint32_t>(value->type));
}

// An optional token id key, checked against the vocabulary size.
Result<int32_t> optional_token(const gguf::Reader& reader, std::string_view key, int64_t size) {
  if (reader.find(key) == nullptr) return kNoToken;
  auto id = reader.get_int(key);
  if (!id) return id.error();
  if (*id < 0 || *id >= size) {
    return make_error("{}: metadata key {}: expected a token id in [0, {}), found {}",
                      reader.path(), key, size, *id);
  }
  return static_cast<int32_t>(*id);
}

}  // namespace

Result<Vocab> load_vocab(const gguf::Reader& reader) {
  Vocab vocab;
  auto model = reader.get_string(names::kTokenizerModel);
  if (!model) return model.error();
  if (*model == "llama") {
    vocab.kind = TokenizerKind::kSentencePiece;
  } else if (*model == "gpt2") {
    vocab.kind = TokenizerKind::kBytePairEncoding;
  } else {
    return make_error(
        "{}: metadata key {}: expected \"llama\" (SentencePiece) or \"gpt2\" "
        "(byte-level BPE), found \"{}\"",
        reader.path(), names::kTokenizerModel, *model);
  }

  auto tokens = reader.get_string_array(names::kTokenizerTokens);
  if (!tokens) return tokens.error();
  vocab.tokens = std::move(*tokens);
  const int64_t n = vocab.size();
  if (n == 0) {
    return make_error("{}: metadata key {}: expected at least one token, found none", reader.path(),
                      names::kTokenizerTokens);
  }

  if (reader.find(names::kTokenizerScores) != nullptr) {
    auto scores = reader.get_float_array(names::kTokenizerScores);
    if (!scores) return scores.error();
    if (static_cast<int64_t>(scores->size()) != n) {
      return make_error("{}: metadata key {}: expected {} scores (one per token), found {}",
                        reader.path(), names::kTokenizerScores, n, scores->size());
    }
    vocab.scores.assign(scores->begin(), scores->end());
  } else if (vocab.kind == TokenizerKind::kSentencePiece) {
    return make_error("{}: metadata key {}: missing (a SentencePiece vocabulary needs scores)",
                      reader.path(), names::kTokenizerScores);
  }

  if (reader.find(names::kTokenizerTokenType) != nullptr) {
    auto types = reader.get_int_array(names::kTokenizerTokenType);
    if (!types) return types.error();
    if (static_cast<int64_t>(types->size()) != n) {
      return make_error("{}: metadata key {}: expected {} token types (one per token), found {}",
                        reader.path(), names::kTokenizerTokenType, n, types->size());
    }
    vocab.types.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = (*types)[i];
      if (t < 0 || t > static_cast<int64_t>(TokenType::kByte)) {
        return make_error("{}: metadata key {}: token {} has type {}, expected 0..6", reader.path(),
                          names::kTokenizerTokenType, i, t);
      }
      vocab.types.push_back(static_cast<TokenType>(t));
    }
  } else {
    vocab.types.assign(n, TokenType::kNormal);
  }

  if (vocab.kind == TokenizerKind::kBytePairEncoding) {
    auto pre = reader.get_string(names::kTokenizerPre);
    if (!pre) return pre.error();
    auto kind = parse_pre_tokenizer(*pre);
    if (!kind) {
      return make_error(
          "{}: metadata key {}: expected a supported pre-tokenizer (llama-bpe, "
          "qwen2, gpt-2, hunyuan-dense), found \"{}\"",
          reader.path(), names::kTokenizerPre, *pre);
    }
    vocab.pre = *kind;
    auto merges = reader.get_string_array(names::kTokenizerMerges);
    if (!merges) return merges.error();
    vocab.merges = std::move(*merges);
    // llama.cpp's choices for these pre-tokenizers.
    vocab.ignore_merges = vocab.pre == PreTokenizer::kLlama3;
  }

  auto bos = optional_token(reader, names::kTokenizerBosId, n);
  if (!bos) return bos.error();
  auto eos = optional_token(reader, names::kTokenizerEosId, n);
  if (!eos) return eos.error();
  auto unknown = optional_token(reader, names::kTokenizerUnknownId, n);
  if (!unknown) return unknown.error();
  auto eot = optional_token(reader, "tokenizer.ggml.eot_token_id", n);
  if (!eot) return eot.error();
  vocab.bos = *bos;
  vocab.eos = *eos;
  vocab.unknown = *unknown;
  vocab.eot = *eot;

  const bool spm = vocab.kind == TokenizerKind::kSentencePiece;
  auto add_bos =
      optional_bool(reader, names::kTokenizerAddBos, spm || vocab.pre == PreTokenizer::kLlama3);
  if (!add_bos) return add_bos.error();
  auto add_eos = optional_bool(reader, names::kTokenizerAddEos, false);
  if (!add_eos) return add_eos.error();
  auto add_space_prefix = optional_bool(reader, names::kTokenizerAddSpacePrefix, spm);
  if (!add_space_prefix) return add_space_prefix.error();
  vocab.add_bos = *add_bos && vocab.bos != kNoToken;
  vocab.add_eos = *add_eos && vocab.eos != kNoToken;
  vocab.add_space_prefix = *add_space_prefix;

  if (reader.find(names::kTokenizerChatTemplate) != nullptr) {
    auto chat_template = reader.get_string(names::kTokenizerChatTemplate);
    if (!chat_template) return chat_template.error();
    vocab.chat_template = std::move(*chat_template);
  }
  return vocab;
}

}  // namespace sherry::runtime
