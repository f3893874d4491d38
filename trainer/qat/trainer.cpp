#include "trainer/qat/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "trainer/qat/blas.h"
#include "trainer/qat/checkpoint.h"
#include "trainer/qat/diagnostics.h"
#include "trainer/qat/progress_bar.h"
#include "trainer/qat/schedules.h"

namespace sherry::train {
namespace {

std::string metrics_path(const TrainConfig& c) {
  return c.out_dir + "/metrics.jsonl";
}

}  // namespace

void set_eval_mode(LlamaModel<float>& model, const TrainConfig& config) {
  model.set_quantization(config.method, config.layout(), 0.0);
}

Trainer::Trainer(const TrainConfig& config, TokenData data, Distributed* dist,
                 TrainerOptions options)
    : config_(config),
      data_(std::move(data)),
      dist_(dist),
      options_(options),
      data_rng_(config.seed) {
  if (dist_ == nullptr) {
    own_dist_ = std::make_unique<Distributed>();
    dist_ = own_dist_.get();
  }
  int threads = config.threads;
  if (threads == 0)
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / dist_->size());
  pool_ = std::make_unique<ThreadPool>(threads);
  set_blas_threads(threads);
  model_ = std::make_unique<LlamaModel<float>>(config.model, config.batch_size, pool_.get());
  adam_ = std::make_unique<AdamW>(
      static_cast<int64_t>(model_->params().size()),
      AdamWOptions{config.beta1, config.beta2, config.adam_eps, config.weight_decay});
  decay_mask_.assign(model_->params().size(), 0);
  for (const TensorSlot& s : model_->slots())
    if (s.role != TensorRole::kNorm) std::fill_n(decay_mask_.begin() + s.offset, s.size(), 1);
}

Trainer::~Trainer() = default;

Result<std::unique_ptr<Trainer>> Trainer::create(const TrainConfig& config, TokenData data,
                                                 Distributed* dist, TrainerOptions options) {
  for (const auto* split : {&data.train, &data.val})
    if (split->size() < static_cast<size_t>(config.model.seq_len) + 2)
      return make_error("training data: a split has {} tokens, seq_len {} needs at least {}",
                        split->size(), config.model.seq_len, config.model.seq_len + 2);
  for (const auto* split : {&data.train, &data.val})
    for (int32_t t : *split)
      if (t < 0 || t >= config.model.vocab_size)
        return make_error("training data: token id {} outside the model's vocabulary [0, {})", t,
                          config.model.vocab_size);
  std::unique_ptr<Trainer> trainer(new Trainer(config, std::move(data), dist, options));
  std::optional<std::string> resume_from;
  if (options.resume) resume_from = latest_checkpoint(config.out_dir);
  if (resume_from) {
    SHERRY_TRY(trainer->load(*resume_from, false));
  } else if (!config.init_checkpoint.empty()) {
    SHERRY_TRY(trainer->load(config.init_checkpoint, true));
  } else {
    trainer->model_->init_random(config.seed);
  }
  // Every process starts from the root's parameters (they are identical already; this makes it a
  // guarantee rather than an assumption).
  trainer->dist_->broadcast(trainer->model_->params().data(),
                            static_cast<int64_t>(trainer->model_->params().size()));
  return trainer;
}

Status Trainer::load(const std::string& path, bool parameters_only) {
  auto checkpoint = read_checkpoint(path);
  if (!checkpoint.ok()) return checkpoint.error();
  auto saved = train_config_from_json(checkpoint->config, path + ": config");
  if (!saved.ok()) return saved.error();
  if (!(saved->model == config_.model))
    return make_error("{}: checkpoint model config {} does not match the run's {}", path,
                      model_config_to_json(saved->model).dump(),
                      model_config_to_json(config_.model).dump());
  if (checkpoint->params.size() != model_->params().size())
    return make_error("{}: checkpoint has {} parameters, the model {}", path,
                      checkpoint->params.size(), model_->params().size());
  model_->params() = checkpoint->params;
  if (parameters_only) return Status::success();
  if (saved->method != config_.method || saved->steps != config_.steps ||
      saved->seed != config_.seed)
    return make_error(
        "{}: checkpoint was written by a run with method {}, steps {}, seed {}; this run "
        "has method {}, steps {}, seed {} (use another out_dir)",
        path, to_string(saved->method), saved->steps, saved->seed, to_string(config_.method),
        config_.steps, config_.seed);
  adam_->m() = checkpoint->adam_m;
  adam_->v() = checkpoint->adam_v;
  step_ = checkpoint->step;
  tokens_seen_ = checkpoint->tokens_seen;
  data_rng_.set_state(checkpoint->rng_state);
  return Status::success();
}

Status Trainer::save() {
  if (!dist_->is_root()) return Status::success();
  std::error_code ec;
  std::filesystem::create_directories(config_.out_dir, ec);
  Checkpoint c;
  c.step = step_;
  c.rng_state = data_rng_.state();
  c.tokens_seen = tokens_seen_;
  c.config = train_config_to_json(config_);
  c.params = model_->params();
  c.adam_m = adam_->m();
  c.adam_v = adam_->v();
  SHERRY_TRY(write_checkpoint(checkpoint_path(config_.out_dir, step_), c));
  prune_checkpoints(config_.out_dir, config_.keep_checkpoints);
  return Status::success();
}

double Trainer::evaluate() {
  const int64_t seq = config_.model.seq_len, batch = config_.batch_size;
  const std::vector<int64_t> offsets =
      validation_offsets(config_.eval_sequences, static_cast<int64_t>(data_.val.size()), seq);
  std::vector<int32_t> tokens(batch * seq), targets(batch * seq);
  double sums[2] = {0.0, 0.0};  // loss sum, token count
  int64_t chunk = 0;
  for (int64_t first = 0; first < config_.eval_sequences; first += batch, ++chunk) {
    if (chunk % dist_->size() != dist_->rank()) continue;
    const int64_t b = std::min(batch, config_.eval_sequences - first);
    gather_windows(data_.val, offsets.data() + first, b, seq, tokens.data(), targets.data());
    sums[0] += model_->forward(tokens.data(), targets.data(), b, seq);
    sums[1] += static_cast<double>(b * seq);
  }
  dist_->all_reduce_sum(sums, 2);
  return sums[0] / sums[1];
}

nlohmann::json Trainer::layer_diagnostics() {
  nlohmann::json layers = nlohmann::json::array();
  const int rank_layer =
      config_.diag_rank_layer >= 0 ? config_.diag_rank_layer : config_.model.n_layers / 2;
  for (const TensorSlot& s : model_->slots()) {
    if (s.role != TensorRole::kLinear) continue;
    nlohmann::json entry = {{"name", s.name}};
    if (is_quantized(config_.method)) {
      const WeightDiagnostics d =
          weight_diagnostics(config_.method, model_->params().data() + s.offset, s.rows, s.cols,
                             config_.layout(), model_->alphas(s));
      entry["near_decision_share"] = d.near_decision_share;
      entry["abs_over_alpha_histogram"] = d.histogram;
    }
    if (s.layer == rank_layer)
      entry["grad_effective_rank"] =
          effective_rank(model_->grads().data() + s.offset, s.rows, s.cols);
    layers.push_back(entry);
  }
  return layers;
}

void Trainer::truncate_metrics() {
  // A resumed run rewrites the log up to its checkpoint, so steps appear once.
  std::ifstream in(metrics_path(config_));
  if (!in) return;
  std::stringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() < step_) kept << line << '\n';
    } catch (const nlohmann::json::exception&) {
      // a line cut by a kill: dropped
    }
  }
  in.close();
  std::ofstream out(metrics_path(config_), std::ios::trunc);
  out << kept.str();
}

Result<TrainSummary> Trainer::run() {
  const TrainConfig& c = config_;
  const int64_t seq = c.model.seq_len;
  const int64_t per_process = c.batch_size * c.grad_accum;
  const int64_t global_sequences = per_process * dist_->size();
  const double global_tokens = static_cast<double>(global_sequences * seq);
  const bool root = dist_->is_root();
  std::ofstream metrics;
  if (root && options_.write_metrics) {
    std::error_code ec;
    std::filesystem::create_directories(c.out_dir, ec);
    truncate_metrics();
    metrics.open(metrics_path(c), std::ios::app);
    if (!metrics) return make_error("{}: cannot open the metrics log for writing", metrics_path(c));
  }
  TrainSummary summary;
  summary.first_step = step_;
  ProgressBar progress(c.steps, step_, root && options_.progress);
  std::vector<int32_t> tokens(c.batch_size * seq), targets(c.batch_size * seq);
  std::vector<float>& grads = model_->grads();
  double tokens_per_second = 0;
  double last_val = NAN;
  const auto run_start = std::chrono::steady_clock::now();

  while (step_ < c.steps) {
    const int64_t s = step_;
    const auto step_start = std::chrono::steady_clock::now();
    const double lambda = arenas_lambda(s, c.steps, c.lambda_warmup_steps, c.lambda_decay_steps);
    const double lr = learning_rate(s, c.steps, c.warmup_steps, c.lr, c.min_lr_ratio);
    model_->set_quantization(c.method, c.layout(), lambda);
    model_->zero_grads();
    const std::vector<int64_t> offsets =
        sample_offsets(data_rng_, global_sequences, static_cast<int64_t>(data_.train.size()), seq);
    double loss_sum = 0;
    for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
      const int64_t first = dist_->rank() * per_process + micro * c.batch_size;
      gather_windows(data_.train, offsets.data() + first, c.batch_size, seq, tokens.data(),
                     targets.data());
      loss_sum += model_->forward(tokens.data(), targets.data(), c.batch_size, seq);
      model_->backward(static_cast<float>(1.0 / global_tokens));
    }
    dist_->all_reduce_sum(grads.data(), static_cast<int64_t>(grads.size()));
    dist_->all_reduce_sum(&loss_sum, 1);
    const double loss = loss_sum / global_tokens;
    if (!std::isfinite(loss))
      return make_error("training diverged at step {}: loss is {} (lower lr or check the data)", s,
                        loss);
    double norm2 = 0;
    for (float g : grads) norm2 += static_cast<double>(g) * g;
    const double grad_norm = std::sqrt(norm2);
    if (c.grad_clip > 0 && grad_norm > c.grad_clip) {
      const float scale = static_cast<float>(c.grad_clip / grad_norm);
      for (float& g : grads) g *= scale;
    }
    const bool last = s + 1 == c.steps;
    const bool eval_now = last || (c.eval_every > 0 && (s + 1) % c.eval_every == 0);
    nlohmann::json layers;
    if (eval_now && root) layers = layer_diagnostics();  // needs this step's gradients
    adam_->update(model_->params().data(), grads.data(), decay_mask_, lr, s, pool_.get());
    ++step_;
    tokens_seen_ += static_cast<int64_t>(global_tokens);
    summary.losses.push_back(loss);

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    tokens_per_second = global_tokens / std::max(seconds, 1e-9);
    nlohmann::json row = {{"step", s},
                          {"loss", loss},
                          {"lr", lr},
                          {"lambda", method_lambda(c.method, lambda)},
                          {"grad_norm", grad_norm},
                          {"tokens_per_second", tokens_per_second},
                          {"tokens_seen", tokens_seen_}};
    if (eval_now) {
      // Validation with the weights after this update, at the λ of the next step (0 after the
      // last).
      model_->set_quantization(c.method, c.layout(),
                               arenas_lambda(std::min(s + 1, c.steps - 1), c.steps,
                                             c.lambda_warmup_steps, c.lambda_decay_steps));
      last_val = evaluate();
      row["val_loss"] = last_val;
      row["val_ppl"] = std::exp(last_val);
      if (root) row["layers"] = layers;
    }
    if (metrics.is_open()) {
      metrics << row.dump() << '\n';
      metrics.flush();
    }
    progress.update(step_, fmt::format("loss {:.3f}{} lr {:.2e} λ {:.3f} {:.0f} tok/s", loss,
                                       std::isnan(last_val)
                                           ? std::string()
                                           : fmt::format(" val ppl {:.1f}", std::exp(last_val)),
                                       lr, method_lambda(c.method, lambda), tokens_per_second));
    if (c.stop_after >= 0 && step_ >= c.stop_after) break;  // a simulated kill: no checkpoint
    if (last || (c.checkpoint_every > 0 && step_ % c.checkpoint_every == 0)) SHERRY_TRY(save());
  }
  progress.finish();
  const double total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  summary.last_step = step_;
  summary.val_loss = last_val;
  summary.tokens_per_second =
      static_cast<double>(summary.losses.size()) * global_tokens / std::max(total_seconds, 1e-9);
  return summary;
}

}  // namespace sherry::train
