// Everything that defines a training run, read from a JSON file (configs/*.json, docs/training.md):
//   { "model": { ModelConfig fields }, "method": "sherry", "steps": 2000, ... }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"
#include "core/weight_layout.h"
#include "trainer/qat/model_config.h"
#include "trainer/qat/quant_method.h"
#include "trainer/qat/schedules.h"

namespace sherry::train {

struct TrainConfig {
  ModelConfig model;
  QuantMethod method = QuantMethod::kFp;
  int64_t group_size = 128;  // Sparse-AbsMean / AbsMean scale group along K (per-group)
  std::string corpus_dir = "data/corpus";
  std::string out_dir = "runs/default";  // checkpoints, metrics.jsonl
  std::string init_checkpoint;  // start from these parameters (QAT from an FP run); "" = scratch

  int64_t steps = 1000;     // optimizer steps
  int64_t batch_size = 16;  // sequences per micro-batch per process
  int64_t grad_accum = 1;   // micro-batches per optimizer step per process
  double lr = 3e-3;
  LrSchedule lr_schedule = LrSchedule::kCosine;
  double min_lr_ratio = 0.1;       // cosine / wsd end at lr · min_lr_ratio at the last step
  double warmup_fraction = 0.05;   // linear LR warm-up over this share of the steps
  double lr_decay_fraction = 0.2;  // wsd: linear decay over the last share of the steps
  double beta1 = 0.9;
  double beta2 = 0.95;
  double adam_eps = 1e-8;
  double weight_decay = 0.1;  // decoupled: the embedding, the head, and linears of fp runs
  double quantized_weight_decay = 0.0;  // the latent weights of quantized linears (reference: 0)
  double grad_clip = 1.0;               // global L2 norm; 0 disables
  double lambda_warmup_fraction = 0.1;  // Arenas: λ 0 → 1 linearly over this share of the steps
  double lambda_end_fraction = 1.0;     // λ reaches 0 here (1: the last step, the paper's)
  uint64_t seed = 1234;                 // initialization and data order

  int64_t eval_every = 100;        // validation and diagnostics (0: only at the end)
  int64_t eval_tokens = 65536;     // validation set: this many target tokens (at most), fixed
  std::vector<int> diag_layers;    // layers whose 7 matrices are diagnosed; empty = first,
                                   // middle, last
  int64_t probe_sequences = 8;     // the fixed probe batch of the diagnostics (training windows)
  int64_t checkpoint_every = 100;  // 0: only at the end
  int keep_checkpoints = 2;
  int threads = 0;          // per process; 0 = all cores / processes
  int64_t stop_after = -1;  // testing aid: return after this step without a checkpoint

  LrScheduleOptions lr_options() const {
    return {lr_schedule, lr, min_lr_ratio, warmup_fraction, lr_decay_fraction};
  }
  // The diagnosed layers with the default applied.
  std::vector<int> diagnosed_layers() const;
  WeightLayout layout() const {
    WeightLayout l;
    l.group_size = group_size;
    return l;
  }
};

// Unknown keys, wrong types and invalid values are errors naming `what` and the field.
Result<TrainConfig> train_config_from_json(const nlohmann::json& json, const std::string& what);
Result<TrainConfig> load_train_config(const std::string& path);
// The config of a checkpoint written before the schedules became fractions of the run (fields
// warmup_steps, lambda_warmup_steps, lambda_decay_steps, eval_sequences, diag_rank_layer):
// rewritten to the current fields with the same meaning where one exists. Current configs come
// back unchanged.
nlohmann::json upgrade_legacy_train_config(const nlohmann::json& json);
nlohmann::json train_config_to_json(const TrainConfig& config);

}  // namespace sherry::train
