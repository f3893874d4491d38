// Everything that defines a training run, read from a JSON file (configs/*.json, docs/training.md):
//   { "model": { ModelConfig fields }, "method": "sherry", "steps": 2000, ... }
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"
#include "core/weight_layout.h"
#include "trainer/qat/model_config.h"
#include "trainer/qat/quant_method.h"

namespace sherry::train {

struct TrainConfig {
  ModelConfig model;
  QuantMethod method = QuantMethod::kFp;
  int64_t group_size = 128;  // Sparse-AbsMean scale group along K (per-group granularity)
  std::string corpus_dir = "data/corpus";
  std::string out_dir = "runs/default";  // checkpoints, metrics.jsonl
  std::string init_checkpoint;  // start from these parameters (QAT from an FP run); "" = scratch

  int64_t steps = 1000;     // optimizer steps
  int64_t batch_size = 16;  // sequences per micro-batch per process
  int64_t grad_accum = 1;   // micro-batches per optimizer step per process
  double lr = 3e-3;
  double min_lr_ratio = 0.1;  // cosine decays to lr · min_lr_ratio at the last step
  int64_t warmup_steps = 50;  // linear LR warm-up
  double beta1 = 0.9;
  double beta2 = 0.95;
  double adam_eps = 1e-8;
  double weight_decay = 0.1;         // decoupled, matrices only (not norms)
  double grad_clip = 1.0;            // global L2 norm; 0 disables
  int64_t lambda_warmup_steps = -1;  // Arenas: λ 0 → 1 linearly; −1 = 10% of steps
  int64_t lambda_decay_steps =
      -1;                // cosine 1 → 0 ending at the last step; −1 = all steps after warm-up
  uint64_t seed = 1234;  // initialization and data order

  int64_t eval_every = 100;     // validation perplexity and diagnostics (0: only at the end)
  int64_t eval_sequences = 64;  // validation windows of seq_len + 1 tokens
  int diag_rank_layer = -1;     // layer whose gradients' effective rank is computed; −1 = middle
  int64_t checkpoint_every = 100;  // 0: only at the end
  int keep_checkpoints = 2;
  int threads = 0;          // per process; 0 = all cores / processes
  int64_t stop_after = -1;  // testing aid: return after this step without a checkpoint

  WeightLayout layout() const {
    WeightLayout l;
    l.group_size = group_size;
    return l;
  }
};

// Unknown keys, wrong types and invalid values are errors naming `what` and the field.
Result<TrainConfig> train_config_from_json(const nlohmann::json& json, const std::string& what);
Result<TrainConfig> load_train_config(const std::string& path);
nlohmann::json train_config_to_json(const TrainConfig& config);

}  // namespace sherry::train
