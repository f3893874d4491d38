// The training loop: learning happens, schedules, AdamW, exact resumption after a simulated kill,
// checkpoint and config validation.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/trainer/tiny_run.h"
#include "trainer/qat/adamw.h"
#include "trainer/qat/checkpoint.h"
#include "trainer/qat/progress_bar.h"
#include "trainer/qat/schedules.h"
#include "trainer/qat/token_data.h"
#include "trainer/qat/trainer.h"

namespace sherry::train {
namespace {

using testing::synthetic_data;
using testing::TempDir;
using testing::tiny_train_config;

TrainSummary run_tiny(const TrainConfig& config, bool resume = false) {
  TrainerOptions options;
  options.resume = resume;
  auto trainer = Trainer::create(config, synthetic_data(), nullptr, options);
  REQUIRE_MESSAGE(trainer.ok(), (trainer.ok() ? "" : trainer.error().message()));
  auto summary = (*trainer)->run();
  REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? "" : summary.error().message()));
  return *summary;
}

TEST_CASE("the learning rate warms up linearly and decays along a cosine to the floor") {
  LrScheduleOptions o{LrSchedule::kCosine, 1.0, 0.1, 0.1, 0.2};
  CHECK(learning_rate(0, 100, o) == doctest::Approx(0.1));
  CHECK(learning_rate(9, 100, o) == doctest::Approx(1.0));
  CHECK(learning_rate(10, 100, o) == doctest::Approx(1.0));
  CHECK(learning_rate(99, 100, o) == doctest::Approx(0.1));
  o.min_ratio = 0.0;
  CHECK(learning_rate(54, 100, o) == doctest::Approx(0.5 * (1 + std::cos(M_PI * 44 / 89))));
}

TEST_CASE("the constant and wsd schedules hold the peak after the warm-up") {
  LrScheduleOptions o{LrSchedule::kConstant, 2.0, 0.1, 0.05, 0.2};
  CHECK(learning_rate(0, 100, o) == doctest::Approx(0.4));
  CHECK(learning_rate(5, 100, o) == 2.0);
  CHECK(learning_rate(99, 100, o) == 2.0);
  o.schedule = LrSchedule::kWsd;  // stable to step 79, then linear to 0.2 at step 99
  CHECK(learning_rate(79, 100, o) == 2.0);
  CHECK(learning_rate(89, 100, o) == doctest::Approx(2.0 - 1.8 * 10 / 20));
  CHECK(learning_rate(99, 100, o) == doctest::Approx(0.2));
}

TEST_CASE("schedules are fractions of the run so a shorter run keeps their shape") {
  // The same config run for 100 and for 1000 steps: the warm-ups end at the same share of the
  // run (absolute step counts gave a short run a 25 % warm-up).
  for (int64_t total : {100, 1000}) {
    INFO("total " << total);
    CHECK(arenas_lambda(total / 20, total, 0.1, 1.0) == doctest::Approx(0.5));
    CHECK(arenas_lambda(total / 10, total, 0.1, 1.0) == doctest::Approx(1.0));
    const LrScheduleOptions o{LrSchedule::kCosine, 1.0, 0.1, 0.05, 0.2};
    CHECK(learning_rate(total / 20 - 1, total, o) == doctest::Approx(1.0));
  }
}

TEST_CASE("arenas lambda rises linearly then reaches exactly zero at the last step") {
  const int64_t total = 101;  // warm-up round(0.2 · 101) = 20 steps
  CHECK(arenas_lambda(0, total, 0.2, 1.0) == 0.0);
  CHECK(arenas_lambda(10, total, 0.2, 1.0) == doctest::Approx(0.5));
  CHECK(arenas_lambda(20, total, 0.2, 1.0) == doctest::Approx(1.0));
  CHECK(arenas_lambda(60, total, 0.2, 1.0) == doctest::Approx(0.5));
  CHECK(arenas_lambda(100, total, 0.2, 1.0) == 0.0);
  for (int64_t s = 0; s < total; ++s) {
    const double l = arenas_lambda(s, total, 0.1, 1.0);
    REQUIRE(l >= 0.0);
    REQUIRE(l <= 1.0);
  }
}

TEST_CASE("an arenas end before the last step leaves a pure ternary phase") {
  const int64_t total = 101;  // λ reaches 0 at round(0.8 · 100) = 80
  CHECK(arenas_lambda(20, total, 0.2, 0.8) == doctest::Approx(1.0));
  CHECK(arenas_lambda(50, total, 0.2, 0.8) == doctest::Approx(0.5));
  for (int64_t s = 80; s < total; ++s) REQUIRE(arenas_lambda(s, total, 0.2, 0.8) == 0.0);
  // An end inside the warm-up: the smaller of the rise and the fall, still 0 from the end on.
  CHECK(arenas_lambda(5, total, 0.5, 0.1) < 0.5);
  CHECK(arenas_lambda(10, total, 0.5, 0.1) == 0.0);
}

TEST_CASE("learning rate schedules parse and print") {
  for (const char* name : {"cosine", "constant", "wsd"}) {
    auto s = parse_lr_schedule(name);
    REQUIRE(s.ok());
    CHECK(to_string(*s) == name);
  }
  auto bad = parse_lr_schedule("linear");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message() ==
        "unknown learning-rate schedule 'linear' (expected cosine, constant or wsd)");
}

TEST_CASE("the progress bar formats durations for the ETA") {
  CHECK(ProgressBar::format_duration(12.4) == "12s");
  CHECK(ProgressBar::format_duration(185) == "3m05s");
  CHECK(ProgressBar::format_duration(3725) == "1h02m");
}

TEST_CASE("adamw matches a scalar reference step with a weight decay per class") {
  AdamW adam(3, AdamWOptions{0.9, 0.95, 1e-8, 0.1, 0.3});
  std::vector<float> p = {1.0f, -2.0f, 4.0f};
  const std::vector<float> g = {0.5f, -0.25f, 0.5f};
  const std::vector<DecayClass> decay = {DecayClass::kDecay, DecayClass::kNone,
                                         DecayClass::kQuantizedDecay};
  adam.update(p.data(), g.data(), decay, 0.01, 0, nullptr);
  // Step 0: m̂ = g, v̂ = g², update = g / (|g| + eps) = sign(g).
  CHECK(p[0] == doctest::Approx(1.0 - 0.01 * (1.0 + 0.1 * 1.0)));
  CHECK(p[1] == doctest::Approx(-2.0 + 0.01));
  CHECK(p[2] == doctest::Approx(4.0 - 0.01 * (1.0 + 0.3 * 4.0)));
}

TEST_CASE("quantized latent weights get their own weight decay, 0 by default") {
  // The reference recipe trains the latent weights without decay; the old trainer decayed them
  // with weight_decay 0.1 like every other matrix.
  TempDir dir("decay");
  for (QuantMethod method : {QuantMethod::kFp, QuantMethod::kSherry, QuantMethod::kAbsmean}) {
    INFO("method " << to_string(method));
    const TrainConfig config = tiny_train_config(method, dir.path());
    CHECK(config.quantized_weight_decay == 0.0);
    auto trainer = Trainer::create(config, synthetic_data(), nullptr, TrainerOptions{});
    REQUIRE(trainer.ok());
    const auto& classes = (*trainer)->decay_classes();
    for (const TensorSlot& s : (*trainer)->model().slots()) {
      INFO("tensor " << s.name);
      const DecayClass expected = s.role == TensorRole::kNorm ? DecayClass::kNone
                                  : s.role == TensorRole::kLinear && method != QuantMethod::kFp
                                      ? DecayClass::kQuantizedDecay
                                      : DecayClass::kDecay;
      CHECK(classes[s.offset] == expected);
      CHECK(classes[s.offset + s.size() - 1] == expected);
    }
  }
  // End to end: with a zero gradient only decay moves a weight; the latent weights stay put.
  const TrainConfig config = tiny_train_config(QuantMethod::kSherry, dir.path());
  auto trainer = Trainer::create(config, synthetic_data(), nullptr, TrainerOptions{});
  REQUIRE(trainer.ok());
  AdamW adam(static_cast<int64_t>((*trainer)->model().params().size()),
             AdamWOptions{0.9, 0.95, 1e-8, config.weight_decay, config.quantized_weight_decay});
  std::vector<float> params = (*trainer)->model().params();
  const std::vector<float> before = params;
  const std::vector<float> zero(params.size(), 0.0f);
  adam.update(params.data(), zero.data(), (*trainer)->decay_classes(), 0.1, 0, nullptr);
  const TensorSlot& q = (*trainer)->model().slot("blk.0.attn_q.weight");
  const TensorSlot& embedding = (*trainer)->model().slot("token_embd.weight");
  for (int64_t i = 0; i < q.size(); ++i) REQUIRE(params[q.offset + i] == before[q.offset + i]);
  CHECK(params[embedding.offset] != before[embedding.offset]);
}

TEST_CASE("training the tiny model lowers the loss for every method") {
  for (QuantMethod method : {QuantMethod::kFp, QuantMethod::kSherry, QuantMethod::kSherryNoArenas,
                             QuantMethod::kAbsmean}) {
    TempDir dir("learn");
    TrainConfig config = tiny_train_config(method, dir.path());
    config.steps = 40;
    config.checkpoint_every = 0;
    config.eval_every = 0;
    const TrainSummary s = run_tiny(config);
    INFO("method " << to_string(method) << " first loss " << s.losses.front() << " last "
                   << s.losses.back());
    CHECK(s.losses.front() > std::log(24.0) - 0.3);
    CHECK(s.losses.back() < s.losses.front() - 0.7);
    CHECK(std::isfinite(s.val_loss));
  }
}

TEST_CASE("a run stopped between checkpoints resumes with bitwise identical losses") {
  for (QuantMethod method : {QuantMethod::kFp, QuantMethod::kSherry}) {
    TempDir full_dir("full"), killed_dir("killed");
    const TrainSummary full = run_tiny(tiny_train_config(method, full_dir.path()));
    REQUIRE(full.losses.size() == 12);

    TrainConfig killed = tiny_train_config(method, killed_dir.path());
    killed.stop_after = 10;  // checkpoints at 4 and 8, killed after step 10 without saving
    const TrainSummary first = run_tiny(killed);
    CHECK(first.last_step == 10);
    killed.stop_after = -1;
    const TrainSummary resumed = run_tiny(killed, true);
    CHECK(resumed.first_step == 8);
    REQUIRE(resumed.losses.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      INFO("method " << to_string(method) << " step " << 8 + i);
      CHECK(resumed.losses[i] == full.losses[8 + i]);  // exact
    }
    CHECK(resumed.val_loss == full.val_loss);
    // The metrics log lists every step exactly once.
    std::ifstream log(killed_dir.path() + "/metrics.jsonl");
    std::string line;
    int64_t expected = 0;
    while (std::getline(log, line))
      CHECK(nlohmann::json::parse(line)["step"].get<int64_t>() == expected++);
    CHECK(expected == 12);
  }
}

TEST_CASE("only the newest checkpoints are kept") {
  TempDir dir("keep");
  TrainConfig config = tiny_train_config(QuantMethod::kFp, dir.path());
  config.checkpoint_every = 2;
  config.keep_checkpoints = 2;
  run_tiny(config);
  CHECK(latest_checkpoint(dir.path()) == checkpoint_path(dir.path(), 12));
  CHECK(std::filesystem::exists(checkpoint_path(dir.path(), 10)));
  CHECK_FALSE(std::filesystem::exists(checkpoint_path(dir.path(), 8)));
}

TEST_CASE("QAT starts from the parameters of an FP checkpoint") {
  TempDir fp_dir("fp"), qat_dir("qat");
  const TrainConfig fp_config = tiny_train_config(QuantMethod::kFp, fp_dir.path());
  run_tiny(fp_config);
  TrainConfig qat = tiny_train_config(QuantMethod::kSherry, qat_dir.path());
  qat.init_checkpoint = checkpoint_path(fp_dir.path(), 12);
  auto trainer = Trainer::create(qat, synthetic_data(), nullptr, TrainerOptions{});
  REQUIRE(trainer.ok());
  auto saved = read_checkpoint(qat.init_checkpoint);
  REQUIRE(saved.ok());
  CHECK((*trainer)->model().params() == saved->params);
  CHECK((*trainer)->step() == 0);
}

TEST_CASE("a checkpoint of another model shape is rejected with both configs named") {
  TempDir a("shape_a"), b("shape_b");
  run_tiny(tiny_train_config(QuantMethod::kFp, a.path()));
  TrainConfig other = tiny_train_config(QuantMethod::kFp, b.path());
  other.model.hidden_dim = 96;
  other.init_checkpoint = checkpoint_path(a.path(), 12);
  auto trainer = Trainer::create(other, synthetic_data(), nullptr, TrainerOptions{});
  REQUIRE_FALSE(trainer.ok());
  CHECK(trainer.error().message().find("does not match the run's") != std::string::npos);
  CHECK(trainer.error().message().find("\"hidden_dim\":96") != std::string::npos);
}

TEST_CASE("resuming a run with another method is refused") {
  TempDir dir("method");
  run_tiny(tiny_train_config(QuantMethod::kFp, dir.path()));
  auto trainer = Trainer::create(tiny_train_config(QuantMethod::kSherry, dir.path()),
                                 synthetic_data(), nullptr, TrainerOptions{});
  REQUIRE_FALSE(trainer.ok());
  CHECK(trainer.error().message().find("method fp") != std::string::npos);
}

TEST_CASE("QAT from an FP checkpoint draws a fresh data order") {
  TempDir fp_dir("fresh_fp"), qat_dir("fresh_qat");
  run_tiny(tiny_train_config(QuantMethod::kFp, fp_dir.path()));
  const std::string fp_checkpoint = checkpoint_path(fp_dir.path(), 12);
  auto windows_of = [&](const TrainConfig& config) {
    auto trainer = Trainer::create(config, synthetic_data(), nullptr, TrainerOptions{});
    REQUIRE(trainer.ok());
    Rng rng((*trainer)->data_rng_state());
    return (*trainer)->train_windows().sample(rng, 16);
  };
  const std::vector<int64_t> fp_first = windows_of(tiny_train_config(QuantMethod::kFp, "unused"));
  TrainConfig qat = tiny_train_config(QuantMethod::kSherry, qat_dir.path());
  qat.init_checkpoint = fp_checkpoint;
  const std::vector<int64_t> qat_first = windows_of(qat);
  CHECK(qat_first != fp_first);         // the old trainer replayed the FP run's windows
  CHECK(windows_of(qat) == qat_first);  // same seed, same order: arms see the same data
  qat.seed += 1;
  CHECK(windows_of(qat) != qat_first);  // another seed, another order
}

TEST_CASE("validation runs at lambda zero on a fixed set and reports bits per byte") {
  TempDir dir("val_lambda");
  TrainConfig config = tiny_train_config(QuantMethod::kSherry, dir.path());
  config.steps = 12;
  config.eval_every = 4;
  config.checkpoint_every = 4;
  config.keep_checkpoints = 5;
  config.lambda_warmup_fraction = 0.1;  // λ(4) > 0: the old trainer validated at that λ
  REQUIRE(arenas_lambda(4, config.steps, 0.1, 1.0) > 0.5);
  TokenData data = synthetic_data();
  data.token_bytes.resize(24);  // token id i stands for 1 + i % 4 bytes
  for (size_t i = 0; i < data.token_bytes.size(); ++i) data.token_bytes[i] = 1 + i % 4;
  {
    TrainerOptions options;
    options.resume = false;
    auto trainer = Trainer::create(config, data, nullptr, options);
    REQUIRE(trainer.ok());
    REQUIRE((*trainer)->run().ok());
  }
  std::ifstream log(dir.path() + "/metrics.jsonl");
  std::string line;
  nlohmann::json at_step_3;
  while (std::getline(log, line)) {
    const auto row = nlohmann::json::parse(line);
    if (row["step"] == 3) at_step_3 = row;
  }
  REQUIRE(at_step_3.contains("val_loss"));
  CHECK(at_step_3["val_tokens"] == config.eval_tokens);
  // The same weights in eval mode (λ = 0) give exactly the logged loss.
  TrainConfig again = config;
  again.init_checkpoint = checkpoint_path(dir.path(), 4);
  again.out_dir = dir.path() + "/again";
  auto trainer = Trainer::create(again, data, nullptr, TrainerOptions{});
  REQUIRE(trainer.ok());
  const EvalResult result = (*trainer)->evaluate();
  CHECK(result.loss == at_step_3["val_loss"].get<double>());
  CHECK(result.tokens == config.eval_tokens);
  // bits per byte: the summed loss in bits over the bytes the target tokens stand for.
  const std::vector<int64_t>& windows = (*trainer)->validation_set();
  int64_t bytes = 0;
  for (int64_t start : windows)
    for (int64_t t = 1; t <= config.model.seq_len; ++t)
      bytes += data.token_bytes[data.val[start + t]];
  CHECK(result.bytes == bytes);
  CHECK(result.bits_per_byte ==
        doctest::Approx(result.loss * result.tokens / std::log(2.0) / bytes).epsilon(1e-12));
  CHECK(at_step_3["val_bpb"].get<double>() == doctest::Approx(result.bits_per_byte));
}

TEST_CASE("the diagnostics log flips since the last evaluation and ranks of the chosen layers") {
  TempDir dir("diag");
  TrainConfig config = tiny_train_config(QuantMethod::kSherry, dir.path());
  config.eval_every = 4;
  config.diag_layers = {1};
  run_tiny(config);
  std::ifstream log(dir.path() + "/metrics.jsonl");
  std::string line;
  int evaluations = 0;
  while (std::getline(log, line)) {
    const auto row = nlohmann::json::parse(line);
    if (!row.contains("layers")) continue;
    const auto& layers = row["layers"];
    REQUIRE(layers.size() == 14);  // every quantized matrix of the 2 layers
    for (const auto& layer : layers) {
      INFO(layer.dump());
      const bool diagnosed = layer["name"].get<std::string>().starts_with("blk.1.");
      CHECK(layer.contains("grad_effective_rank") == diagnosed);
      CHECK(layer["abs_over_alpha_histogram"].size() == 21);
      // No flip share at the first evaluation, a share in [0, 1] after.
      if (evaluations == 0) {
        CHECK(layer["flip_share"].is_null());
      } else {
        REQUIRE(layer["flip_share"].is_number());
        CHECK(layer["flip_share"].get<double>() >= 0.0);
        CHECK(layer["flip_share"].get<double>() <= 1.0);
      }
    }
    ++evaluations;
  }
  CHECK(evaluations == 3);
}

TEST_CASE("validation and diagnostics stay out of the timed step") {
  // Evaluation here costs many training steps (20,000 validation tokens forward, about 50 steps,
  // and a probe batch of 256 windows forward and backward, about 30, after each of the 8 steps):
  // the timed steps are about 1-2 % of the run; timing validation or the diagnostics with the
  // step would make them over 40 %. The margin is wide on purpose: on a shared 2-core machine a
  // preemption inside a timed step must not fail the test (with 2,000 tokens and 64 windows the
  // timed steps were ~7 % and one run under a parallel build measured 32 %).
  TempDir dir("timed");
  TrainConfig config = tiny_train_config(QuantMethod::kSherry, dir.path());
  config.steps = 8;
  config.eval_every = 1;
  config.eval_tokens = 20000;
  config.probe_sequences = 256;
  config.checkpoint_every = 0;
  TokenData data = synthetic_data();
  data.val = testing::synthetic_tokens(20000, 2);
  TrainerOptions options;
  options.resume = false;
  auto trainer = Trainer::create(config, data, nullptr, options);
  REQUIRE(trainer.ok());
  const auto start = std::chrono::steady_clock::now();
  auto summary = (*trainer)->run();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(summary.ok());
  double timed = 0;
  for (size_t i = 0; i < summary->step_seconds.size(); ++i) {
    timed += summary->step_seconds[i];
    // The phases are inside the step.
    CHECK(summary->step_phase_seconds[i].total() <= summary->step_seconds[i] * 1.0001);
  }
  INFO("timed steps " << timed << " s of a " << wall << " s run");
  CHECK(timed < 0.3 * wall);
}

TEST_CASE("training data with a token outside the vocabulary is rejected") {
  TempDir dir("vocab");
  TokenData data = synthetic_data();
  data.train[5] = 99;
  auto trainer = Trainer::create(tiny_train_config(QuantMethod::kFp, dir.path()), data, nullptr,
                                 TrainerOptions{});
  REQUIRE_FALSE(trainer.ok());
  CHECK(trainer.error().message() ==
        "training data: token id 99 outside the model's vocabulary [0, 24)");
}

TEST_CASE("training data shorter than a window is rejected") {
  TempDir dir("short");
  TokenData data = synthetic_data();
  data.val.resize(10);
  auto trainer = Trainer::create(tiny_train_config(QuantMethod::kFp, dir.path()), data, nullptr,
                                 TrainerOptions{});
  REQUIRE_FALSE(trainer.ok());
  CHECK(trainer.error().message().find("a split has 10 tokens") != std::string::npos);
}

}  // namespace
}  // namespace sherry::train
