// Training and validation tokens in memory, the sampling of training windows and the fixed
// validation set. A window is seq_len + 1 consecutive tokens of ONE document (inputs and the
// targets shifted by one): windows never cross a document boundary, and a document shorter than a
// window contributes none.
// Data order is a pure function of the RNG state: every process draws the offsets of the whole
// global batch and takes its own slice, so one process with grad_accum·P micro-batches sees
// exactly the sequences P processes see together.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "trainer/qat/rng.h"

namespace sherry::train {

struct TokenData {
  std::vector<int32_t> train;
  std::vector<int32_t> val;
  // Document boundaries: offsets into train / val, 0 first and the token count last. Empty means
  // one document holding the whole split.
  std::vector<int64_t> train_documents;
  std::vector<int64_t> val_documents;
  uint32_t vocab_size = 0;
  // UTF-8 bytes of text each token id stands for (the tokenizer's pieces, "▁" counting as the one
  // space byte it encodes, a byte token as 1, control tokens as 0); empty when no tokenizer is
  // known, and then bits per byte is not reported.
  std::vector<uint8_t> token_bytes;
};

// Reads <dir>/train.tok, <dir>/val.tok (trainer/corpus/token_shards.h) and the byte lengths of
// <dir>/tokenizer.model's pieces when that file exists. Errors: unreadable or invalid shards or
// tokenizer, a vocabulary larger than the model's, a split shorter than seq_len + 1 tokens.
Result<TokenData> load_token_data(const std::string& corpus_dir, int model_vocab, int seq_len);

// Where the windows of one split can start.
class WindowIndex {
 public:
  // documents: offsets as in TokenData (empty: one document of token_count tokens).
  WindowIndex(const std::vector<int64_t>& documents, int64_t token_count, int64_t seq_len);
  // Number of distinct window starts (0: no document holds seq_len + 1 tokens).
  int64_t start_count() const { return total_; }
  int64_t documents_too_short() const { return too_short_; }
  int64_t tokens_in_short_documents() const { return short_tokens_; }
  // The k-th start in document order, k < start_count().
  int64_t start(int64_t k) const;
  // `count` starts drawn uniformly from rng, in order.
  std::vector<int64_t> sample(Rng& rng, int64_t count) const;

 private:
  int64_t seq_len_;
  std::vector<int64_t> first_;       // per usable document: its first token
  std::vector<int64_t> cumulative_;  // per usable document: starts before it; last = total_
  int64_t total_ = 0;
  int64_t too_short_ = 0;
  int64_t short_tokens_ = 0;
};

// Copies windows: tokens[b·seq + t] = data[offset_b + t], targets shifted by one.
void gather_windows(const std::vector<int32_t>& data, const int64_t* offsets, int64_t batch,
                    int64_t seq_len, int32_t* tokens, int32_t* targets);

// The fixed validation set: each document tiled into non-overlapping windows (starts at
// document start + k·seq_len), then, when they hold more than max_tokens targets, the
// ceil(max_tokens / seq_len) of them evenly spaced in that list. Empty when no document holds a
// window.
std::vector<int64_t> validation_windows(const std::vector<int64_t>& documents, int64_t token_count,
                                        int64_t seq_len, int64_t max_tokens);

}  // namespace sherry::train
