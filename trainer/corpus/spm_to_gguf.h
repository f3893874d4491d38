// A SentencePiece .model as llama.cpp's GGUF tokenizer metadata (tokenizer.ggml.model = "llama",
// tokens, scores, token_type, bos/eos/unk ids, add_bos/add_space_prefix), for the trainer's
// export so the runtime loads the very vocabulary the model was trained with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace sherry::gguf {
class Writer;
}

namespace sherry::corpus {

struct GgufTokenizer {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> token_types;  // llama.cpp numbering, equal to SentencePiece's piece types
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unknown_id = -1;
  bool add_space_prefix = true;  // the model's normalizer adds a dummy "▁" prefix
};

// From a serialized ModelProto. The piece types come from the proto itself and are checked
// against libsentencepiece's view of the same model; `name` prefixes errors.
Result<GgufTokenizer> gguf_tokenizer_from_spm(const std::string& model, const std::string& name);
Result<GgufTokenizer> gguf_tokenizer_from_spm_file(const std::string& path);

// Sets tokenizer.ggml.* on the writer (add_bos_token true, add_eos_token false).
void add_gguf_tokenizer(const GgufTokenizer& tokenizer, gguf::Writer& writer);

}  // namespace sherry::corpus
