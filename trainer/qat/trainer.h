// The training loop: data-parallel QAT with AdamW, schedules by optimizer step, gradient
// accumulation and clipping, validation and diagnostics as JSONL, atomic checkpoints and exact
// resumption.
//
// One optimizer step s (0-based):
//   λ = arenas_lambda(s), lr = learning_rate(s); forward weights recomputed at λ
//   the global batch = batch_size · grad_accum · processes windows, offsets drawn from the data
//   RNG; this process runs its grad_accum micro-batches (its slice), gradients of the MEAN token
//   loss over the global batch are summed over processes; clipped to grad_clip; AdamW update.
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
#include "trainer/qat/rng.h"
#include "trainer/qat/token_data.h"
#include "trainer/qat/train_config.h"

namespace sherry::train {

struct TrainerOptions {
  bool resume = true;         // continue from the newest checkpoint in out_dir when there is one
  bool progress = false;      // progress bar on stderr (root process only)
  bool write_metrics = true;  // out_dir/metrics.jsonl (root process only)
};

struct TrainSummary {
  int64_t first_step = 0;      // the step this invocation started at (> 0 when resumed)
  int64_t last_step = 0;       // steps completed when it returned
  std::vector<double> losses;  // training loss of each step it ran (first_step ...)
  double val_loss = 0;         // at the last evaluation
  double tokens_per_second = 0;
};

class Trainer {
 public:
  // Builds the model (random init, init_checkpoint, or the resumed checkpoint). `dist` may be null
  // (one process). Errors: a checkpoint that does not fit the config.
  static Result<std::unique_ptr<Trainer>> create(const TrainConfig& config, TokenData data,
                                                 Distributed* dist, TrainerOptions options);
  ~Trainer();

  Result<TrainSummary> run();

  // Mean token loss over the validation windows with the current forward weights.
  double evaluate();
  LlamaModel<float>& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  int64_t step() const { return step_; }

 private:
  Trainer(const TrainConfig& config, TokenData data, Distributed* dist, TrainerOptions options);
  Status load(const std::string& path, bool parameters_only);
  Status save();
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
  std::vector<uint8_t> decay_mask_;
  Rng data_rng_;
  int64_t step_ = 0;
  int64_t tokens_seen_ = 0;
};

// The forward weights a trained model is deployed with: λ = 0 (pure ternary for the quantized
// methods). Leaves the model's quantization state set accordingly.
void set_eval_mode(LlamaModel<float>& model, const TrainConfig& config);

}  // namespace sherry::train
