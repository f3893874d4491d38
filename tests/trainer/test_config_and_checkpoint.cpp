// Config and checkpoint validation: every error message with the bad input that triggers it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/trainer/tiny_run.h"
#include "trainer/corpus/file_io.h"
#include "trainer/corpus/token_shards.h"
#include "trainer/qat/checkpoint.h"
#include "trainer/qat/token_data.h"
#include "trainer/qat/train_config.h"

namespace sherry::train {
namespace {

std::string config_error(const std::string& text) {
  auto c = train_config_from_json(nlohmann::json::parse(text), "x.json");
  REQUIRE_FALSE(c.ok());
  return c.error().message();
}

TEST_CASE("a training config round-trips through JSON") {
  TrainConfig c = testing::tiny_train_config(QuantMethod::kSherryNoArenas, "/tmp/out");
  c.lambda_warmup_fraction = 0.3;
  c.lr_schedule = LrSchedule::kWsd;
  c.diag_layers = {0, 1};
  auto back = train_config_from_json(train_config_to_json(c), "round trip");
  REQUIRE(back.ok());
  CHECK(train_config_to_json(*back) == train_config_to_json(c));
}

TEST_CASE("bad training configs are rejected with the field and the value") {
  CHECK(config_error(R"({"steps": 0})") == "x.json: config.steps must be positive, found 0");
  CHECK(config_error(R"({"stepz": 5})") == "x.json: unknown field config.stepz (value 5)");
  CHECK(config_error(R"({"lr": "fast"})") == "x.json: config.lr must be a number, found \"fast\"");
  CHECK(config_error(R"({"method": "int4"})") ==
        "x.json: config.method: unknown quantization method 'int4' (expected fp, sherry, "
        "sherry-noarenas or absmean)");
  CHECK(config_error(R"({"model": {"dim": 100, "n_heads": 3}})") ==
        "x.json: model.dim must be a multiple of model.n_heads, found dim 100 and n_heads 3");
  CHECK(config_error(R"({"model": {"layers": 3}})") ==
        "x.json: unknown field model.layers (value 3)");
  CHECK(config_error(R"({"model": {"dim": 256, "n_heads": 8, "n_kv_heads": 3}})") ==
        "x.json: model.n_heads must be a multiple of model.n_kv_heads, found 8 and 3");
  CHECK(config_error(R"({"model": {"dim": 36, "n_heads": 4}})") ==
        "x.json: model.dim / model.n_heads must be even for RoPE, found 9");
  CHECK(config_error(R"({"min_lr_ratio": 2.0})") ==
        "x.json: config.min_lr_ratio must be in [0, 1], found 2");
  CHECK(config_error(R"({"model": {"norm_eps": 0}})") ==
        "x.json: model.norm_eps must be positive, found 0");
  const std::string group = config_error(R"({"method": "sherry", "group_size": 100})");
  CHECK(group.find("x.json: ") == 0);
  CHECK(group.find("config.group_size") != std::string::npos);
  CHECK(config_error(R"([1, 2])") == "x.json: expected a JSON object, found [1,2]");
  CHECK(config_error(R"({"lr_schedule": "step"})") ==
        "x.json: config.lr_schedule: unknown learning-rate schedule 'step' (expected cosine, "
        "constant or wsd)");
  CHECK(config_error(R"({"lambda_end_fraction": 1.5})") ==
        "x.json: config.lambda_end_fraction must be in [0, 1], found 1.5");
  CHECK(config_error(R"({"warmup_fraction": -0.1})") ==
        "x.json: config.warmup_fraction must be in [0, 1], found -0.1");
  CHECK(config_error(R"({"quantized_weight_decay": -1})") ==
        "x.json: config.quantized_weight_decay must be non-negative, found -1");
  CHECK(config_error(R"({"eval_tokens": 0})") ==
        "x.json: config.eval_tokens must be positive, found 0");
  CHECK(config_error(R"({"diag_layers": [0, 9]})") ==
        "x.json: config.diag_layers must be a list of layer indices below 6, found 9");
  CHECK(config_error(R"({"diag_layers": 3})") ==
        "x.json: config.diag_layers must be a list of integers, found 3");
  CHECK(config_error(R"({"warmup_steps": 20})") ==
        "x.json: unknown field config.warmup_steps (value 20)");
  const std::string absmean_group = config_error(R"({"method": "absmean", "group_size": 100})");
  CHECK(absmean_group.find("config.group_size") != std::string::npos);
}

TEST_CASE("a legacy checkpoint config is upgraded to fractions of the run") {
  const nlohmann::json legacy = nlohmann::json::parse(R"({
      "model": {"seq_len": 64}, "steps": 200, "warmup_steps": 20, "lambda_warmup_steps": 40,
      "lambda_decay_steps": -1, "eval_sequences": 32, "diag_rank_layer": 2, "weight_decay": 0.1})");
  auto c = train_config_from_json(upgrade_legacy_train_config(legacy), "legacy");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
  CHECK(c->warmup_fraction == doctest::Approx(0.1));
  CHECK(c->lambda_warmup_fraction == doctest::Approx(0.2));
  CHECK(c->lambda_end_fraction == 1.0);
  CHECK(c->eval_tokens == 32 * 64);
  CHECK(c->diag_layers == std::vector<int>{2});
  CHECK(c->quantized_weight_decay == 0.1);  // it used to decay every matrix
  // A λ warm-up of −1 (10 %) keeps the default fraction; a current config is unchanged.
  auto defaulted = train_config_from_json(
      upgrade_legacy_train_config(nlohmann::json::parse(R"({"lambda_warmup_steps": -1})")), "l");
  REQUIRE(defaulted.ok());
  CHECK(defaulted->lambda_warmup_fraction == 0.1);
  const nlohmann::json current = train_config_to_json(TrainConfig{});
  CHECK(upgrade_legacy_train_config(current) == current);
}

TEST_CASE("a missing or malformed config file is reported with its path") {
  testing::TempDir dir("config_file");
  auto missing = load_train_config(dir.path() + "/none.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message() == dir.path() + "/none.json: cannot open the training config");
  REQUIRE(corpus::write_text_atomic(dir.path() + "/bad.json", "{\"steps\": ").ok());
  auto bad = load_train_config(dir.path() + "/bad.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find(dir.path() + "/bad.json: not valid JSON") == 0);
}

Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.step = 42;
  c.rng_state = 0xDEADBEEFCAFEull;
  c.tokens_seen = 1000;
  c.config = {{"method", "sherry"}};
  c.params = {1.0f, -2.0f, 3.5f};
  c.adam_m = {0.1f, 0.2f, 0.3f};
  c.adam_v = {0.01f, 0.02f, 0.03f};
  return c;
}

TEST_CASE("a checkpoint round-trips exactly") {
  const Checkpoint c = sample_checkpoint();
  auto back = parse_checkpoint(serialize_checkpoint(c), "mem");
  REQUIRE(back.ok());
  CHECK(back->step == 42);
  CHECK(back->rng_state == c.rng_state);
  CHECK(back->tokens_seen == 1000);
  CHECK(back->config == c.config);
  CHECK(back->params == c.params);
  CHECK(back->adam_m == c.adam_m);
  CHECK(back->adam_v == c.adam_v);
}

TEST_CASE("damaged checkpoints are rejected with what was expected and found") {
  const std::vector<uint8_t> good = serialize_checkpoint(sample_checkpoint());
  auto error_of = [](const std::vector<uint8_t>& bytes) {
    auto c = parse_checkpoint(bytes, "ck.bin");
    REQUIRE_FALSE(c.ok());
    return c.error().message();
  };
  CHECK(error_of({1, 2, 3}) == "ck.bin: checkpoint of 3 bytes is shorter than the 32-byte minimum");
  std::vector<uint8_t> bad_magic = good;
  bad_magic[0] = 'X';
  CHECK(error_of(bad_magic) == "ck.bin: checkpoint magic must be \"SHRYCKPT\", found \"XHRYCKPT\"");
  std::vector<uint8_t> bad_version = good;
  bad_version[8] = 7;
  CHECK(error_of(bad_version) == "ck.bin: checkpoint version must be 1, found 7");
  std::vector<uint8_t> truncated(good.begin(), good.end() - 5);
  CHECK(error_of(truncated).find("ck.bin: checkpoint checksum must be") == 0);
  std::vector<uint8_t> flipped = good;
  flipped[good.size() - 20] ^= 1;
  CHECK(error_of(flipped).find("(truncated or corrupted)") != std::string::npos);
}

TEST_CASE("a missing checkpoint file is reported with its path") {
  auto c = read_checkpoint("/nonexistent/ckpt_00000001.bin");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message().find("/nonexistent/ckpt_00000001.bin") != std::string::npos);
}

TEST_CASE("token data loads from corpus shards and checks the vocabulary") {
  testing::TempDir dir("shards");
  corpus::TokenShard shard;
  shard.vocab_size = 30;
  std::vector<uint32_t> doc(100);
  for (size_t i = 0; i < doc.size(); ++i) doc[i] = static_cast<uint32_t>(i % 30);
  shard.add_document(doc);
  REQUIRE(
      corpus::write_token_shard(corpus::shard_path(dir.path(), corpus::Split::kTrain), shard).ok());
  REQUIRE(
      corpus::write_token_shard(corpus::shard_path(dir.path(), corpus::Split::kVal), shard).ok());
  auto data = load_token_data(dir.path(), 32, 16);
  REQUIRE(data.ok());
  CHECK(data->train.size() == 100);
  CHECK(data->train[31] == 1);
  auto too_small = load_token_data(dir.path(), 24, 16);
  REQUIRE_FALSE(too_small.ok());
  CHECK(too_small.error().message() ==
        corpus::shard_path(dir.path(), corpus::Split::kTrain) +
            ": vocabulary of 30 tokens does not fit the model's vocab_size 24");
  auto too_short = load_token_data(dir.path(), 32, 128);
  REQUIRE_FALSE(too_short.ok());
  CHECK(too_short.error().message() == corpus::shard_path(dir.path(), corpus::Split::kTrain) +
                                           ": 100 tokens, need at least seq_len + 2 = 130");
}

TEST_CASE("training windows are deterministic in the seed and targets are shifted by one") {
  Rng a(9), b(9);
  const WindowIndex index({}, 1000, 16);
  CHECK(index.sample(a, 5) == index.sample(b, 5));
  std::vector<int32_t> data(50);
  for (int i = 0; i < 50; ++i) data[i] = i;
  const int64_t offsets[2] = {3, 20};
  std::vector<int32_t> tokens(8), targets(8);
  gather_windows(data, offsets, 2, 4, tokens.data(), targets.data());
  CHECK(tokens == std::vector<int32_t>{3, 4, 5, 6, 20, 21, 22, 23});
  CHECK(targets == std::vector<int32_t>{4, 5, 6, 7, 21, 22, 23, 24});
}

}  // namespace
}  // namespace sherry::train
