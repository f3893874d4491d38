#include "trainer/qat/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/sparse_absmean.h"
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

// Seeds the probe batch's windows (a constant: every run over the same data probes the same
// text).
constexpr uint64_t kProbeSeed = 0x70726f6265ull;  // "probe"

// The data order of a run that starts from another run's parameters: a function of both the
// seed and that run's data RNG, so QAT never replays its FP run's windows and two seeds give two
// orders.
uint64_t derived_data_state(uint64_t seed, uint64_t checkpoint_state) {
  Rng mix(checkpoint_state ^ (seed * 0x9E3779B97F4A7C15ull));
  return mix.next_u64();
}

}  // namespace

void set_eval_mode(LlamaModel<float>& model, const TrainConfig& config) {
  model.set_quantization(config.method, config.layout(), 0.0);
}

std::vector<DecayClass> weight_decay_classes(const LlamaModel<float>& model, QuantMethod method) {
  std::vector<DecayClass> classes(model.params().size(), DecayClass::kNone);
  for (const TensorSlot& s : model.slots()) {
    DecayClass c = DecayClass::kDecay;
    if (s.role == TensorRole::kNorm) c = DecayClass::kNone;
    if (s.role == TensorRole::kLinear && is_quantized(method)) c = DecayClass::kQuantizedDecay;
    std::fill_n(classes.begin() + s.offset, s.size(), c);
  }
  return classes;
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
  use_single_threaded_blas();  // GEMMs split over pool_ themselves (trainer/qat/blas.h)
  model_ = std::make_unique<LlamaModel<float>>(config.model, config.batch_size, pool_.get());
  adam_ = std::make_unique<AdamW>(static_cast<int64_t>(model_->params().size()),
                                  AdamWOptions{config.beta1, config.beta2, config.adam_eps,
                                               config.weight_decay, config.quantized_weight_decay});
  decay_classes_ = weight_decay_classes(*model_, config.method);
  const int64_t seq = config.model.seq_len;
  train_windows_ = std::make_unique<WindowIndex>(data_.train_documents,
                                                 static_cast<int64_t>(data_.train.size()), seq);
  val_windows_ = validation_windows(data_.val_documents, static_cast<int64_t>(data_.val.size()),
                                    seq, config.eval_tokens);
  if (train_windows_->start_count() > 0) {
    // The probe batch: fixed windows of the training split, the same for every run of the data.
    Rng probe_rng(kProbeSeed);
    probe_windows_ = train_windows_->sample(probe_rng, config.probe_sequences);
  }
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
  for (auto* documents : {&data.train_documents, &data.val_documents}) {
    const auto& tokens = documents == &data.train_documents ? data.train : data.val;
    if (documents->empty()) continue;
    if (documents->size() < 2 || documents->front() != 0 ||
        documents->back() != static_cast<int64_t>(tokens.size()) ||
        !std::is_sorted(documents->begin(), documents->end()))
      return make_error(
          "training data: document offsets must run from 0 to the token count {} without "
          "decreasing, found {} offsets from {} to {}",
          tokens.size(), documents->size(), documents->empty() ? 0 : documents->front(),
          documents->empty() ? 0 : documents->back());
  }
  std::unique_ptr<Trainer> trainer(new Trainer(config, std::move(data), dist, options));
  if (trainer->train_windows_->start_count() == 0 || trainer->val_windows_.empty())
    return make_error(
        "training data: the {} split has no document of at least seq_len + 1 = {} tokens",
        trainer->train_windows_->start_count() == 0 ? "training" : "validation",
        config.model.seq_len + 1);
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
  auto saved =
      train_config_from_json(upgrade_legacy_train_config(checkpoint->config), path + ": config");
  if (!saved.ok()) return saved.error();
  if (!(saved->model == config_.model))
    return make_error("{}: checkpoint model config {} does not match the run's {}", path,
                      model_config_to_json(saved->model).dump(),
                      model_config_to_json(config_.model).dump());
  if (checkpoint->params.size() != model_->params().size())
    return make_error("{}: checkpoint has {} parameters, the model {}", path,
                      checkpoint->params.size(), model_->params().size());
  model_->params() = checkpoint->params;
  if (parameters_only) {
    data_rng_.set_state(derived_data_state(config_.seed, checkpoint->rng_state));
    return Status::success();
  }
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

EvalResult Trainer::evaluate() {
  set_eval_mode(*model_, config_);
  const int64_t seq = config_.model.seq_len, batch = config_.batch_size;
  const auto windows = static_cast<int64_t>(val_windows_.size());
  std::vector<int32_t> tokens(batch * seq), targets(batch * seq);
  double sums[3] = {0.0, 0.0, 0.0};  // loss sum, target tokens, target bytes
  int64_t chunk = 0;
  for (int64_t first = 0; first < windows; first += batch, ++chunk) {
    if (chunk % dist_->size() != dist_->rank()) continue;
    const int64_t b = std::min(batch, windows - first);
    gather_windows(data_.val, val_windows_.data() + first, b, seq, tokens.data(), targets.data());
    sums[0] += model_->forward(tokens.data(), targets.data(), b, seq);
    sums[1] += static_cast<double>(b * seq);
    if (!data_.token_bytes.empty())
      for (int64_t i = 0; i < b * seq; ++i) sums[2] += data_.token_bytes[targets[i]];
  }
  dist_->all_reduce_sum(sums, 3);
  EvalResult result;
  result.loss = sums[0] / sums[1];
  result.tokens = static_cast<int64_t>(sums[1]);
  result.bytes = static_cast<int64_t>(sums[2]);
  result.bits_per_byte = result.bytes > 0 ? sums[0] / std::log(2.0) / sums[2] : NAN;
  return result;
}

nlohmann::json Trainer::layer_diagnostics() {
  const TrainConfig& c = config_;
  const WeightLayout layout = c.layout();
  nlohmann::json layers = nlohmann::json::array();
  const std::vector<int> diagnosed = c.diagnosed_layers();
  auto is_diagnosed = [&](int layer) {
    return std::find(diagnosed.begin(), diagnosed.end(), layer) != diagnosed.end();
  };
  // Weight indicators of every quantized matrix (fp: of its Sherry quantization).
  const bool had_previous = !previous_ternary_.empty();
  if (!had_previous) previous_ternary_.assign(model_->params().size(), 0);
  std::vector<int8_t> fp_ternary;
  std::vector<float> fp_alpha;
  for (const TensorSlot& s : model_->slots()) {
    if (s.role != TensorRole::kLinear) continue;
    const float* w = model_->params().data() + s.offset;
    const int8_t* ternary = nullptr;
    const float* alpha = nullptr;
    if (is_quantized(c.method)) {
      ternary = model_->ternary(s);
      alpha = model_->alphas(s).data();
    } else {
      fp_ternary.resize(s.size());
      fp_alpha.resize(scale_count(layout, s.rows, s.cols));
      sparse_absmean_ternary(w, s.rows, s.cols, layout, fp_ternary.data(), fp_alpha.data());
      ternary = fp_ternary.data();
      alpha = fp_alpha.data();
    }
    int8_t* previous = previous_ternary_.data() + s.offset;
    const WeightDiagnostics d = weight_diagnostics(c.method, w, s.rows, s.cols, layout, alpha,
                                                   ternary, had_previous ? previous : nullptr);
    std::copy(ternary, ternary + s.size(), previous);
    nlohmann::json entry = {{"name", s.name},
                            {"near_decision_share", d.near_decision_share},
                            {"abs_over_alpha_histogram", d.histogram}};
    entry["flip_share"] = d.flip_share >= 0 ? nlohmann::json(d.flip_share) : nlohmann::json();
    layers.push_back(entry);
  }
  // The probe batch's gradient at λ = 0 (eval mode), then the effective ranks.
  const int64_t seq = c.model.seq_len;
  const int64_t probes = static_cast<int64_t>(probe_windows_.size());
  std::vector<int32_t> tokens(c.batch_size * seq), targets(c.batch_size * seq);
  model_->zero_grads();
  for (int64_t first = 0; first < probes; first += c.batch_size) {
    const int64_t b = std::min(c.batch_size, probes - first);
    gather_windows(data_.train, probe_windows_.data() + first, b, seq, tokens.data(),
                   targets.data());
    model_->forward(tokens.data(), targets.data(), b, seq);
    model_->backward(static_cast<float>(1.0 / static_cast<double>(probes * seq)));
  }
  size_t index = 0;
  for (const TensorSlot& s : model_->slots()) {
    if (s.role != TensorRole::kLinear) continue;
    if (is_diagnosed(s.layer))
      layers[index]["grad_effective_rank"] =
          effective_rank(model_->grads().data() + s.offset, s.rows, s.cols);
    ++index;
  }
  model_->zero_grads();
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
  summary.val_loss = NAN;
  summary.val_bits_per_byte = NAN;
  ProgressBar progress(c.steps, step_, root && options_.progress);
  std::vector<int32_t> tokens(c.batch_size * seq), targets(c.batch_size * seq);
  std::vector<float>& grads = model_->grads();
  double timed_seconds = 0;
  EvalResult last_val;
  last_val.loss = NAN;
  PhaseTimes step_times;
  model_->set_phase_times(&step_times);

  while (step_ < c.steps) {
    const int64_t s = step_;
    step_times.clear();
    const auto step_start = std::chrono::steady_clock::now();
    const double lambda =
        arenas_lambda(s, c.steps, c.lambda_warmup_fraction, c.lambda_end_fraction);
    const double lr = learning_rate(s, c.steps, c.lr_options());
    model_->set_quantization(c.method, c.layout(), lambda);
    std::vector<int64_t> offsets;
    {
      PhaseTimer timer(&step_times, Phase::kData);
      model_->zero_grads();
      offsets = train_windows_->sample(data_rng_, global_sequences);
    }
    double loss_sum = 0;
    for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
      const int64_t first = dist_->rank() * per_process + micro * c.batch_size;
      {
        PhaseTimer timer(&step_times, Phase::kData);
        gather_windows(data_.train, offsets.data() + first, c.batch_size, seq, tokens.data(),
                       targets.data());
      }
      loss_sum += model_->forward(tokens.data(), targets.data(), c.batch_size, seq);
      model_->backward(static_cast<float>(1.0 / global_tokens));
    }
    double grad_norm = 0;
    {
      PhaseTimer timer(&step_times, Phase::kReduce);
      dist_->all_reduce_sum(grads.data(), static_cast<int64_t>(grads.size()));
      dist_->all_reduce_sum(&loss_sum, 1);
      double norm2 = 0;
      for (float g : grads) norm2 += static_cast<double>(g) * g;
      grad_norm = std::sqrt(norm2);
      if (c.grad_clip > 0 && grad_norm > c.grad_clip) {
        const float scale = static_cast<float>(c.grad_clip / grad_norm);
        for (float& g : grads) g *= scale;
      }
    }
    const double loss = loss_sum / global_tokens;
    if (!std::isfinite(loss))
      return make_error("training diverged at step {}: loss is {} (lower lr or check the data)", s,
                        loss);
    {
      PhaseTimer timer(&step_times, Phase::kOptimizer);
      adam_->update(model_->params().data(), grads.data(), decay_classes_, lr, s, pool_.get());
    }
    ++step_;
    tokens_seen_ += static_cast<int64_t>(global_tokens);
    summary.losses.push_back(loss);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    timed_seconds += seconds;
    summary.phase_seconds += step_times;
    summary.step_phase_seconds.push_back(step_times);
    summary.step_seconds.push_back(seconds);
    const double tokens_per_second = global_tokens / std::max(seconds, 1e-9);

    nlohmann::json phases = nlohmann::json::object();
    for (size_t p = 0; p < static_cast<size_t>(Phase::kCount); ++p)
      phases[std::string(to_string(static_cast<Phase>(p)))] = step_times.seconds[p];
    nlohmann::json row = {{"step", s},
                          {"loss", loss},
                          {"lr", lr},
                          {"lambda", method_lambda(c.method, lambda)},
                          {"grad_norm", grad_norm},
                          {"tokens_per_second", tokens_per_second},
                          {"tokens_seen", tokens_seen_},
                          {"step_seconds", seconds},
                          {"phase_seconds", phases}};
    const bool last = s + 1 == c.steps;
    const bool eval_now =
        options_.evaluation && (last || (c.eval_every > 0 && (s + 1) % c.eval_every == 0));
    if (eval_now) {
      // Outside the timed step, with the weights after this update, at λ = 0.
      model_->set_phase_times(nullptr);
      last_val = evaluate();
      row["val_loss"] = last_val.loss;
      row["val_ppl"] = std::exp(last_val.loss);
      row["val_tokens"] = last_val.tokens;
      if (last_val.bytes > 0) row["val_bpb"] = last_val.bits_per_byte;
      if (root) row["layers"] = layer_diagnostics();
      model_->set_phase_times(&step_times);
    }
    if (metrics.is_open()) {
      metrics << row.dump() << '\n';
      metrics.flush();
    }
    std::string val_text;
    if (!std::isnan(last_val.loss))
      val_text = last_val.bytes > 0 ? fmt::format(" val {:.3f} bpb", last_val.bits_per_byte)
                                    : fmt::format(" val ppl {:.1f}", std::exp(last_val.loss));
    progress.update(step_,
                    fmt::format("loss {:.3f}{} lr {:.2e} λ {:.3f} {:.0f} tok/s", loss, val_text, lr,
                                method_lambda(c.method, lambda), tokens_per_second));
    if (c.stop_after >= 0 && step_ >= c.stop_after) break;  // a simulated kill: no checkpoint
    if (options_.checkpoints &&
        (last || (c.checkpoint_every > 0 && step_ % c.checkpoint_every == 0)))
      SHERRY_TRY(save());
  }
  model_->set_phase_times(nullptr);
  progress.finish();
  summary.last_step = step_;
  summary.val_loss = last_val.loss;
  summary.val_bits_per_byte = last_val.bits_per_byte;
  summary.tokens_per_second =
      static_cast<double>(summary.losses.size()) * global_tokens / std::max(timed_seconds, 1e-9);
  return summary;
}

}  // namespace sherry::train
