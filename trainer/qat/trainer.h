// The training loop: data-parallel QAT with AdamW, schedules by optimizer step, gradient
// accumulation and clipping, validation and diagnostics as JSONL, atomic checkpoints and exact
// resumption.
//
// One optimizer step s (0-based):
//   λ = arenas_lambda(s), lr = learning_rate(s); forward weights recomputed at λ
//   the global batch = batch_size · grad_accum · processes windows (each inside one document),
//   offsets drawn from the data RNG; this process runs its grad_accum micro-batches (its slice),
//   gradients of the MEAN token loss over the global batch are summed over processes; clipped to
//   grad_clip; AdamW update. That is the timed step; validation and diagnostics run after it, at
//   λ = 0, outside the time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "trainer/qat/adamw.h"
#include "trainer/qat/distributed.h"
#include "trainer/qat/llama_model.h"
#include "trainer/qat/phase_timer.h"
#include "trainer/qat/rng.h"
#include "trainer/qat/token_data.h"
#include "trainer/qat/train_config.h"

namespace sherry::train {

struct TrainerOptions {
  bool resume = true;         // continue from the newest checkpoint in out_dir when there is one
  bool progress = false;      // progress bar on stderr (root process only)
  bool write_metrics = true;  // out_dir/metrics.jsonl (root process only)
  bool checkpoints = true;    // write checkpoints (off for benchmarks)
  bool evaluation = true;     // validation and diagnostics (off for benchmarks)
};

// Validation over the fixed validation set.
struct EvalResult {
  double loss = 0;           // mean token loss (nats)
  int64_t tokens = 0;        // target tokens scored
  int64_t bytes = 0;         // UTF-8 bytes those targets stand for (0: no tokenizer known)
  double bits_per_byte = 0;  // loss · tokens / ln 2 / bytes; NaN when bytes is 0
};

struct TrainSummary {
  int64_t first_step = 0;      // the step this invocation started at (> 0 when resumed)
  int64_t last_step = 0;       // steps completed when it returned
  std::vector<double> losses;  // training loss of each step it ran (first_step ...)
  double val_loss = 0;         // at the last evaluation
  double val_bits_per_byte = 0;
  double tokens_per_second = 0;  // over the timed steps (validation and diagnostics excluded)
  PhaseTimes phase_seconds;      // summed over the steps it ran
  std::vector<PhaseTimes> step_phase_seconds;  // per step it ran
  std::vector<double> step_seconds;            // per step it ran (the timed part)
};

class Trainer {
 public:
  // Builds the model (random init, init_checkpoint, or the resumed checkpoint). `dist` may be null
  // (one process). Errors: a checkpoint that does not fit the config.
  static Result<std::unique_ptr<Trainer>> create(const TrainConfig& config, TokenData data,
                                                 Distributed* dist, TrainerOptions options);
  ~Trainer();

  Result<TrainSummary> run();

  // The validation set at λ = 0 (eval mode: what export writes). Leaves the model in eval mode.
  EvalResult evaluate();
  LlamaModel<float>& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  int64_t step() const { return step_; }
  int threads() const { return pool_->size(); }
  uint64_t data_rng_state() const { return data_rng_.state(); }
  // Window starts: the next global batch would be drawn from these.
  const WindowIndex& train_windows() const { return *train_windows_; }
  const std::vector<int64_t>& validation_set() const { return val_windows_; }
  const std::vector<DecayClass>& decay_classes() const { return decay_classes_; }

 private:
  Trainer(const TrainConfig& config, TokenData data, Distributed* dist, TrainerOptions options);
  Status load(const std::string& path, bool parameters_only);
  Status save();
  // Weight indicators of every quantized matrix, then the probe batch's gradient at λ = 0 and
  // the effective rank of the diagnosed layers' matrices. Needs eval mode (evaluate() sets it).
  nlohmann::json layer_diagnostics();
  void truncate_metrics();

  TrainConfig config_;
  TokenData data_;
  Distributed* dist_;
  std::unique_ptr<Distributed> own_dist_;
  TrainerOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<LlamaModel<float>> model_;
  std::unique_ptr<AdamW> adam_;
  std::vector<DecayClass> decay_classes_;
  std::unique_ptr<WindowIndex> train_windows_;
  std::vector<int64_t> val_windows_;
  std::vector<int64_t> probe_windows_;
  std::vector<int8_t> previous_ternary_;  // at the last evaluation, for the flip share
  Rng data_rng_;
  int64_t step_ = 0;
  int64_t tokens_seen_ = 0;
};

// Per parameter, the weight decay it gets: none for norms, quantized_weight_decay for the latent
// weights of quantized linears, weight_decay for the other matrices.
std::vector<DecayClass> weight_decay_classes(const LlamaModel<float>& model, QuantMethod method);

// The forward weights a trained model is deployed with: λ = 0 (pure ternary for the quantized
// methods). Leaves the model's quantization state set accordingly.
void set_eval_mode(LlamaModel<float>& model, const TrainConfig& config);

}  // namespace sherry::train
