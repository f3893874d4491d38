#include "trainer/qat/train_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "trainer/qat/json_fields.h"

namespace sherry::train {

Result<TrainConfig> train_config_from_json(const nlohmann::json& json, const std::string& what) {
  TrainConfig c;
  if (!json.is_object())
    return make_error("{}: expected a JSON object, found {}", what, json.dump());
  JsonFields f(json, what, "config");
  nlohmann::json model_json = nlohmann::json::object();
  if (json.contains("model")) model_json = json["model"];
  {
    auto model = model_config_from_json(model_json, what);
    if (!model.ok()) return model.error();
    c.model = *model;
  }
  std::string method = std::string(to_string(c.method));
  SHERRY_TRY(f.read("method", method));
  {
    auto parsed = parse_quant_method(method);
    if (!parsed.ok()) return parsed.error().with_context(what + ": config.method");
    c.method = *parsed;
  }
  f.mark_read("model");
  SHERRY_TRY(f.read("group_size", c.group_size));
  SHERRY_TRY(f.read("corpus_dir", c.corpus_dir));
  SHERRY_TRY(f.read("out_dir", c.out_dir));
  SHERRY_TRY(f.read("init_checkpoint", c.init_checkpoint));
  SHERRY_TRY(f.read("steps", c.steps));
  SHERRY_TRY(f.read("batch_size", c.batch_size));
  SHERRY_TRY(f.read("grad_accum", c.grad_accum));
  SHERRY_TRY(f.read("lr", c.lr));
  std::string schedule = std::string(to_string(c.lr_schedule));
  SHERRY_TRY(f.read("lr_schedule", schedule));
  {
    auto parsed = parse_lr_schedule(schedule);
    if (!parsed.ok()) return parsed.error().with_context(what + ": config.lr_schedule");
    c.lr_schedule = *parsed;
  }
  SHERRY_TRY(f.read("min_lr_ratio", c.min_lr_ratio));
  SHERRY_TRY(f.read("warmup_fraction", c.warmup_fraction));
  SHERRY_TRY(f.read("lr_decay_fraction", c.lr_decay_fraction));
  SHERRY_TRY(f.read("beta1", c.beta1));
  SHERRY_TRY(f.read("beta2", c.beta2));
  SHERRY_TRY(f.read("adam_eps", c.adam_eps));
  SHERRY_TRY(f.read("weight_decay", c.weight_decay));
  SHERRY_TRY(f.read("quantized_weight_decay", c.quantized_weight_decay));
  SHERRY_TRY(f.read("grad_clip", c.grad_clip));
  SHERRY_TRY(f.read("lambda_warmup_fraction", c.lambda_warmup_fraction));
  SHERRY_TRY(f.read("lambda_end_fraction", c.lambda_end_fraction));
  SHERRY_TRY(f.read("seed", c.seed));
  SHERRY_TRY(f.read("eval_every", c.eval_every));
  SHERRY_TRY(f.read("eval_tokens", c.eval_tokens));
  SHERRY_TRY(f.read("diag_layers", c.diag_layers));
  SHERRY_TRY(f.read("probe_sequences", c.probe_sequences));
  SHERRY_TRY(f.read("checkpoint_every", c.checkpoint_every));
  SHERRY_TRY(f.read("keep_checkpoints", c.keep_checkpoints));
  SHERRY_TRY(f.read("threads", c.threads));
  SHERRY_TRY(f.read("stop_after", c.stop_after));
  SHERRY_TRY(f.reject_unknown());

  auto require = [&](bool ok, const char* field, const char* expectation, auto value) -> Status {
    if (!ok)
      return make_error("{}: config.{} must be {}, found {}", what, field, expectation, value);
    return Status::success();
  };
  SHERRY_TRY(require(c.steps > 0, "steps", "positive", c.steps));
  SHERRY_TRY(require(c.batch_size > 0, "batch_size", "positive", c.batch_size));
  SHERRY_TRY(require(c.grad_accum > 0, "grad_accum", "positive", c.grad_accum));
  SHERRY_TRY(require(c.lr > 0, "lr", "positive", c.lr));
  SHERRY_TRY(require(c.min_lr_ratio >= 0 && c.min_lr_ratio <= 1, "min_lr_ratio", "in [0, 1]",
                     c.min_lr_ratio));
  auto fraction = [&](double value, const char* field) {
    return require(value >= 0 && value <= 1, field, "in [0, 1]", value);
  };
  SHERRY_TRY(fraction(c.warmup_fraction, "warmup_fraction"));
  SHERRY_TRY(fraction(c.lr_decay_fraction, "lr_decay_fraction"));
  SHERRY_TRY(fraction(c.lambda_warmup_fraction, "lambda_warmup_fraction"));
  SHERRY_TRY(fraction(c.lambda_end_fraction, "lambda_end_fraction"));
  SHERRY_TRY(require(c.weight_decay >= 0, "weight_decay", "non-negative", c.weight_decay));
  SHERRY_TRY(require(c.quantized_weight_decay >= 0, "quantized_weight_decay", "non-negative",
                     c.quantized_weight_decay));
  SHERRY_TRY(require(c.beta1 >= 0 && c.beta1 < 1, "beta1", "in [0, 1)", c.beta1));
  SHERRY_TRY(require(c.beta2 >= 0 && c.beta2 < 1, "beta2", "in [0, 1)", c.beta2));
  SHERRY_TRY(require(c.grad_clip >= 0, "grad_clip", "non-negative", c.grad_clip));
  SHERRY_TRY(require(c.eval_every >= 0, "eval_every", "non-negative", c.eval_every));
  SHERRY_TRY(require(c.eval_tokens > 0, "eval_tokens", "positive", c.eval_tokens));
  SHERRY_TRY(require(c.probe_sequences > 0, "probe_sequences", "positive", c.probe_sequences));
  SHERRY_TRY(
      require(c.checkpoint_every >= 0, "checkpoint_every", "non-negative", c.checkpoint_every));
  SHERRY_TRY(require(c.keep_checkpoints > 0, "keep_checkpoints", "positive", c.keep_checkpoints));
  SHERRY_TRY(require(c.threads >= 0, "threads", "non-negative", c.threads));
  for (int layer : c.diag_layers)
    SHERRY_TRY(require(layer >= 0 && layer < c.model.n_layers, "diag_layers",
                       fmt::format("a list of layer indices below {}", c.model.n_layers).c_str(),
                       layer));
  if (is_quantized(c.method)) {
    const ModelConfig& m = c.model;
    for (int cols : {m.dim, m.hidden_dim}) {
      Status s = validate_layout(c.layout(), 1, cols, "config.group_size");
      if (!s.ok()) return s.error().with_context(what);
    }
  }
  return c;
}

std::vector<int> TrainConfig::diagnosed_layers() const {
  if (!diag_layers.empty()) return diag_layers;
  std::vector<int> layers = {0, model.n_layers / 2, model.n_layers - 1};
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

nlohmann::json upgrade_legacy_train_config(const nlohmann::json& json) {
  if (!json.is_object()) return json;
  nlohmann::json c = json;
  const double steps = c.value("steps", 1000.0);
  if (c.contains("warmup_steps")) {
    if (c["warmup_steps"].is_number() && steps > 0)
      c["warmup_fraction"] = c["warmup_steps"].get<double>() / steps;
    c.erase("warmup_steps");
  }
  if (c.contains("lambda_warmup_steps")) {
    const nlohmann::json& w = c["lambda_warmup_steps"];
    if (w.is_number() && w.get<double>() >= 0 && steps > 0)
      c["lambda_warmup_fraction"] = w.get<double>() / steps;
    c.erase("lambda_warmup_steps");
  }
  // The old decay always ended at the last step (end fraction 1, the default); a shorter one held
  // λ at 1 in between, which the current schedule does not express (only evaluation and export
  // read legacy configs, and neither uses λ).
  c.erase("lambda_decay_steps");
  if (c.contains("eval_sequences")) {
    if (c["eval_sequences"].is_number_integer()) {
      const int64_t seq = c.contains("model") && c["model"].is_object()
                              ? c["model"].value("seq_len", int64_t{256})
                              : int64_t{256};
      c["eval_tokens"] = c["eval_sequences"].get<int64_t>() * seq;
    }
    c.erase("eval_sequences");
  }
  if (c.contains("diag_rank_layer")) {
    const nlohmann::json& layer = c["diag_rank_layer"];
    if (layer.is_number_integer() && layer.get<int>() >= 0)
      c["diag_layers"] = std::vector<int>{layer.get<int>()};
    c.erase("diag_rank_layer");
  }
  // Weight decay used to apply to every matrix, quantized latent weights included.
  if (c.contains("weight_decay") && !c.contains("quantized_weight_decay") &&
      !c.contains("lr_schedule"))
    c["quantized_weight_decay"] = c["weight_decay"];
  return c;
}

Result<TrainConfig> load_train_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("{}: cannot open the training config", path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    return make_error("{}: not valid JSON: {}", path, e.what());
  }
  return train_config_from_json(json, path);
}

nlohmann::json train_config_to_json(const TrainConfig& c) {
  return {{"model", model_config_to_json(c.model)},
          {"method", std::string(to_string(c.method))},
          {"group_size", c.group_size},
          {"corpus_dir", c.corpus_dir},
          {"out_dir", c.out_dir},
          {"init_checkpoint", c.init_checkpoint},
          {"steps", c.steps},
          {"batch_size", c.batch_size},
          {"grad_accum", c.grad_accum},
          {"lr", c.lr},
          {"lr_schedule", std::string(to_string(c.lr_schedule))},
          {"min_lr_ratio", c.min_lr_ratio},
          {"warmup_fraction", c.warmup_fraction},
          {"lr_decay_fraction", c.lr_decay_fraction},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"adam_eps", c.adam_eps},
          {"weight_decay", c.weight_decay},
          {"quantized_weight_decay", c.quantized_weight_decay},
          {"grad_clip", c.grad_clip},
          {"lambda_warmup_fraction", c.lambda_warmup_fraction},
          {"lambda_end_fraction", c.lambda_end_fraction},
          {"seed", c.seed},
          {"eval_every", c.eval_every},
          {"eval_tokens", c.eval_tokens},
          {"diag_layers", c.diag_layers},
          {"probe_sequences", c.probe_sequences},
          {"checkpoint_every", c.checkpoint_every},
          {"keep_checkpoints", c.keep_checkpoints},
          {"threads", c.threads},
          {"stop_after", c.stop_after}};
}

}  // namespace sherry::train
