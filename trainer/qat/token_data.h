// Training and validation tokens in memory, and the sampling of training windows.
// Data order is a pure function of (seed, step): every process draws the offsets of the whole
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
  uint32_t vocab_size = 0;
};

// Reads <dir>/train.tok and <dir>/val.tok (trainer/corpus/token_shards.h). Errors: unreadable or
// invalid shards, a vocabulary larger than the model's, a split shorter than seq_len + 1 tokens.
Result<TokenData> load_token_data(const std::string& corpus_dir, int model_vocab, int seq_len);

// Window starts for the global batch of one optimizer step: `count` offsets in
// [0, token_count − seq_len − 1], drawn from rng in order.
std::vector<int64_t> sample_offsets(Rng& rng, int64_t count, int64_t token_count, int64_t seq_len);

// Copies windows: tokens[b·seq + t] = data[offset_b + t], targets shifted by one.
void gather_windows(const std::vector<int32_t>& data, const int64_t* offsets, int64_t batch,
                    int64_t seq_len, int32_t* tokens, int32_t* targets);

// `count` validation windows evenly spread over the split (fixed: the same for every step).
std::vector<int64_t> validation_offsets(int64_t count, int64_t token_count, int64_t seq_len);

}  // namespace sherry::train
