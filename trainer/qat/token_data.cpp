#include "trainer/qat/token_data.h"

#include <algorithm>
#include <filesystem>

#include "trainer/corpus/token_shards.h"
#include "trainer/corpus/tokenizer.h"

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
    auto& documents = split == corpus::Split::kTrain ? data.train_documents : data.val_documents;
    documents.assign(shard->document_offsets.begin(), shard->document_offsets.end());
    data.vocab_size = std::max(data.vocab_size, shard->vocab_size);
  }
  const std::string tokenizer = corpus::tokenizer_path(corpus_dir);
  if (std::filesystem::exists(tokenizer)) {
    auto loaded = corpus::Tokenizer::load(tokenizer);
    if (!loaded.ok()) return loaded.error();
    data.token_bytes = loaded->token_byte_lengths();
    data.token_bytes.resize(std::max<size_t>(data.token_bytes.size(), model_vocab), 0);
  }
  return data;
}

WindowIndex::WindowIndex(const std::vector<int64_t>& documents, int64_t token_count,
                         int64_t seq_len)
    : seq_len_(seq_len) {
  std::vector<int64_t> bounds = documents;
  if (bounds.size() < 2) bounds = {0, token_count};
  cumulative_.push_back(0);
  for (size_t d = 0; d + 1 < bounds.size(); ++d) {
    const int64_t length = bounds[d + 1] - bounds[d];
    const int64_t starts = length - seq_len;  // start s needs s + seq_len + 1 ≤ document end
    if (starts <= 0) {
      ++too_short_;
      short_tokens_ += length;
      continue;
    }
    first_.push_back(bounds[d]);
    total_ += starts;
    cumulative_.push_back(total_);
  }
}

int64_t WindowIndex::start(int64_t k) const {
  // The usable document whose range of starts holds k.
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), k);
  const size_t d = static_cast<size_t>(it - cumulative_.begin()) - 1;
  return first_[d] + (k - cumulative_[d]);
}

std::vector<int64_t> WindowIndex::sample(Rng& rng, int64_t count) const {
  std::vector<int64_t> offsets(count);
  for (int64_t& o : offsets) o = start(static_cast<int64_t>(rng.below(total_)));
  return offsets;
}

void gather_windows(const std::vector<int32_t>& data, const int64_t* offsets, int64_t batch,
                    int64_t seq_len, int32_t* tokens, int32_t* targets) {
  for (int64_t b = 0; b < batch; ++b) {
    std::copy_n(data.data() + offsets[b], seq_len, tokens + b * seq_len);
    std::copy_n(data.data() + offsets[b] + 1, seq_len, targets + b * seq_len);
  }
}

std::vector<int64_t> validation_windows(const std::vector<int64_t>& documents, int64_t token_count,
                                        int64_t seq_len, int64_t max_tokens) {
  std::vector<int64_t> bounds = documents;
  if (bounds.size() < 2) bounds = {0, token_count};
  std::vector<int64_t> all;
  for (size_t d = 0; d + 1 < bounds.size(); ++d)
    for (int64_t s = bounds[d]; s + seq_len + 1 <= bounds[d + 1]; s += seq_len) all.push_back(s);
  const int64_t wanted = (max_tokens + seq_len - 1) / seq_len;
  const auto available = static_cast<int64_t>(all.size());
  if (available <= wanted) return all;
  std::vector<int64_t> chosen(wanted);
  for (int64_t i = 0; i < wanted; ++i) chosen[i] = all[i * available / wanted];
  return chosen;
}

}  // namespace sherry::train
