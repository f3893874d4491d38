#include "trainer/qat/token_data.h"

#include <algorithm>

#include "trainer/corpus/token_shards.h"

namespace sherry::train {

Result<TokenData> load_token_data(const std::string& corpus_dir, int model_vocab, int seq_len) {
  TokenData data;
  for (corpus::Split split : {corpus::Split::kTrain, corpus::Split::kVal}) {
    const std::string path = corpus::shard_path(corpus_dir, split);
    auto shard = corpus::read_token_shard(path);
    if (!shard.ok()) return shard.error();
    if (shard->vocab_size > static_cast<uint32_t>(model_vocab))
      return make_error("{}: vocabulary of {} tokens does not fit the model's vocab_size {}", path,
                        shard->vocab_size, model_vocab);
    if (shard->tokens.size() < static_cast<size_t>(seq_len) + 2)
      return make_error("{}: {} tokens, need at least seq_len + 2 = {}", path, shard->tokens.size(),
                        seq_len + 2);
    auto& out = split == corpus::Split::kTrain ? data.train : data.val;
    out.assign(shard->tokens.begin(), shard->tokens.end());
    data.vocab_size = std::max(data.vocab_size, shard->vocab_size);
  }
  return data;
}

std::vector<int64_t> sample_offsets(Rng& rng, int64_t count, int64_t token_count, int64_t seq_len) {
  const uint64_t range = static_cast<uint64_t>(token_count - seq_len);  // offsets 0 .. range-1
  std::vector<int64_t> offsets(count);
  for (int64_t& o : offsets) o = static_cast<int64_t>(rng.below(range));
  return offsets;
}

void gather_windows(const std::vector<int32_t>& data, const int64_t* offsets, int64_t batch,
                    int64_t seq_len, int32_t* tokens, int32_t* targets) {
  for (int64_t b = 0; b < batch; ++b) {
    std::copy_n(data.data() + offsets[b], seq_len, tokens + b * seq_len);
    std::copy_n(data.data() + offsets[b] + 1, seq_len, targets + b * seq_len);
  }
}

std::vector<int64_t> validation_offsets(int64_t count, int64_t token_count, int64_t seq_len) {
  const int64_t range = token_count - seq_len - 1;
  std::vector<int64_t> offsets(count);
  for (int64_t i = 0; i < count; ++i) offsets[i] = range * i / std::max<int64_t>(1, count);
  return offsets;
}

}  // namespace sherry::train
