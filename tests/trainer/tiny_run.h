// A tiny model and a synthetic corpus a few training steps can learn, shared by the trainer tests.
#pragma once

#include <unistd.h>
#include <cstdint>
#include <filesystem>
#include <string>

#include "testing/temp_dir.h"
#include "trainer/qat/rng.h"
#include "trainer/qat/token_data.h"
#include "trainer/qat/train_config.h"

namespace sherry::train::testing {

inline ModelConfig tiny_model() {
  ModelConfig c;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.hidden_dim = 64;
  c.vocab_size = 24;
  c.seq_len = 16;
  return c;
}

// A noisy repeating pattern: token i+1 = (token i · 5 + 3) mod 20 most of the time.
inline std::vector<int32_t> synthetic_tokens(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> tokens(count);
  int32_t t = 1;
  for (int64_t i = 0; i < count; ++i) {
    t = rng.uniform() < 0.1 ? static_cast<int32_t>(rng.below(24)) : (t * 5 + 3) % 20;
    tokens[i] = t;
  }
  return tokens;
}

inline TokenData synthetic_data() {
  TokenData d;
  d.train = synthetic_tokens(20000, 1);
  d.val = synthetic_tokens(2000, 2);
  d.vocab_size = 24;
  return d;
}

inline TrainConfig tiny_train_config(QuantMethod method, const std::string& out_dir) {
  TrainConfig c;
  c.model = tiny_model();
  c.method = method;
  c.group_size = 32;
  c.out_dir = out_dir;
  c.steps = 12;
  c.batch_size = 4;
  c.grad_accum = 2;
  c.lr = 1e-2;
  c.warmup_fraction = 0.17;  // 2 of 12 steps
  c.eval_every = 4;
  c.eval_tokens = 8 * 16;
  c.checkpoint_every = 4;
  c.threads = 2;
  return c;
}

using ::sherry::testing::TempDir;

}  // namespace sherry::train::testing
