// A Hugging Face tokenizer (tokenizer.json, tokenizer_config.json) as GGUF's tokenizer.ggml.* keys,
// the way llama.cpp's convert_hf_to_gguf.py writes them, for the two kinds sherry's tokenizer
// runs (docs/convert.md §Tokenizers):
//  * byte-level BPE (model "BPE" with a ByteLevel pre-tokenizer: Llama 3, Qwen2, Qwen3, GPT-2)
//    → tokenizer.ggml.model "gpt2", the merges, and the pre-tokenizer named from its regex;
//  * SentencePiece-style BPE (model "BPE" with byte_fallback: Llama 2, Mistral) → "llama", with
//    scores that rank each token by the first merge that makes it.
// Token types follow the converter: added tokens marked special (or looking like <|...|>) are
// control tokens, other added tokens user-defined, <0xXX> byte tokens (SentencePiece) bytes, ids
// the files leave out "[PAD<id>]" and unused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sherry::gguf {
class Writer;
}

namespace sherry::hf {

struct HfConfig;

struct HfVocab {
  std::string model;  // "gpt2" or "llama"
  std::string pre;    // gpt2: "llama-bpe", "qwen2" or "gpt-2"
  std::vector<std::string> tokens;
  std::vector<float> scores;  // llama only
  std::vector<int32_t> types;
  std::vector<std::string> merges;  // gpt2 only, "left right"
  std::optional<int64_t> bos, eos, unknown, padding;
  std::optional<bool> add_bos, add_eos;
  std::optional<bool> add_space_prefix;  // llama only
  std::string chat_template;             // empty: none
};

struct TokenizerFiles {
  std::string tokenizer_json;  // required
  std::string tokenizer_path;
  std::string config_json;  // tokenizer_config.json, empty when the folder has none
  std::string config_path;
  std::string chat_template;  // chat_template.jinja, used when tokenizer_config has none
};

// The vocabulary padded to `vocab_size` tokens (the model's embedding rows). `pre_override`
// ("llama-bpe", "qwen2", "gpt-2") names the pre-tokenizer of a byte-level tokenizer whose regex
// is not one of the three. Errors name the file and the key: not JSON, a model other than the
// two kinds, token ids at or beyond vocab_size or given twice, a pre-tokenizer regex sherry does
// not run, malformed merges, special tokens that are not in the vocabulary.
Result<HfVocab> convert_hf_tokenizer(const TokenizerFiles& files, int64_t vocab_size,
                                     const HfConfig& config, const std::string& pre_override = "");

// Writes tokenizer.ggml.* (and tokenizer.chat_template).
void add_hf_vocab(gguf::Writer& writer, const HfVocab& vocab);

}  // namespace sherry::hf
