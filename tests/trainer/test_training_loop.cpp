// The training loop: learning happens, schedules, AdamW, exact resumption after a simulated kill,
// checkpoint and config validation.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/trainer/tiny_run.h"
#include "trainer/qat/adamw.h"
#include "trainer/qat/checkpoint.h"
#include "trainer/qat/progress_bar.h"
#include "trainer/qat/schedules.h"
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
  CHECK(learning_rate(0, 100, 10, 1.0, 0.1) == doctest::Approx(0.1));
  CHECK(learning_rate(9, 100, 10, 1.0, 0.1) == doctest::Approx(1.0));
  CHECK(learning_rate(10, 100, 10, 1.0, 0.1) == doctest::Approx(1.0));
  CHECK(learning_rate(99, 100, 10, 1.0, 0.1) == doctest::Approx(0.1));
  CHECK(learning_rate(54, 100, 10, 1.0, 0.0) ==
        doctest::Approx(0.5 * (1 + std::cos(M_PI * 44 / 89))));
}

TEST_CASE("arenas lambda rises linearly then reaches exactly zero at the last step") {
  const int64_t total = 101;
  CHECK(arenas_lambda(0, total, 20, -1) == 0.0);
  CHECK(arenas_lambda(10, total, 20, -1) == doctest::Approx(0.5));
  CHECK(arenas_lambda(20, total, 20, -1) == doctest::Approx(1.0));
  CHECK(arenas_lambda(60, total, 20, -1) == doctest::Approx(0.5));
  CHECK(arenas_lambda(100, total, 20, -1) == 0.0);
  // A shorter decay holds λ at 1 in between.
  CHECK(arenas_lambda(50, total, 20, 30) == 1.0);
  CHECK(arenas_lambda(85, total, 20, 30) == doctest::Approx(0.5));
  for (int64_t s = 0; s < total; ++s) {
    const double l = arenas_lambda(s, total, -1, -1);
    REQUIRE(l >= 0.0);
    REQUIRE(l <= 1.0);
  }
}

TEST_CASE("the progress bar formats durations for the ETA") {
  CHECK(ProgressBar::format_duration(12.4) == "12s");
  CHECK(ProgressBar::format_duration(185) == "3m05s");
  CHECK(ProgressBar::format_duration(3725) == "1h02m");
}

TEST_CASE("adamw matches a scalar reference step") {
  AdamW adam(2, AdamWOptions{0.9, 0.95, 1e-8, 0.1});
  std::vector<float> p = {1.0f, -2.0f};
  const std::vector<float> g = {0.5f, -0.25f};
  const std::vector<uint8_t> decay = {1, 0};
  adam.update(p.data(), g.data(), decay, 0.01, 0, nullptr);
  // Step 0: m̂ = g, v̂ = g², update = g / (|g| + eps) = sign(g).
  CHECK(p[0] == doctest::Approx(1.0 - 0.01 * (1.0 + 0.1 * 1.0)));
  CHECK(p[1] == doctest::Approx(-2.0 + 0.01));
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
