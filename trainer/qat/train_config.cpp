#include "trainer/qat/train_config.h"

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
  SHERRY_TRY(f.read("min_lr_ratio", c.min_lr_ratio));
  SHERRY_TRY(f.read("warmup_steps", c.warmup_steps));
  SHERRY_TRY(f.read("beta1", c.beta1));
  SHERRY_TRY(f.read("beta2", c.beta2));
  SHERRY_TRY(f.read("adam_eps", c.adam_eps));
  SHERRY_TRY(f.read("weight_decay", c.weight_decay));
  SHERRY_TRY(f.read("grad_clip", c.grad_clip));
  SHERRY_TRY(f.read("lambda_warmup_steps", c.lambda_warmup_steps));
  SHERRY_TRY(f.read("lambda_decay_steps", c.lambda_decay_steps));
  SHERRY_TRY(f.read("seed", c.seed));
  SHERRY_TRY(f.read("eval_every", c.eval_every));
  SHERRY_TRY(f.read("eval_sequences", c.eval_sequences));
  SHERRY_TRY(f.read("diag_rank_layer", c.diag_rank_layer));
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
  SHERRY_TRY(require(c.warmup_steps >= 0, "warmup_steps", "non-negative", c.warmup_steps));
  SHERRY_TRY(require(c.beta1 >= 0 && c.beta1 < 1, "beta1", "in [0, 1)", c.beta1));
  SHERRY_TRY(require(c.beta2 >= 0 && c.beta2 < 1, "beta2", "in [0, 1)", c.beta2));
  SHERRY_TRY(require(c.grad_clip >= 0, "grad_clip", "non-negative", c.grad_clip));
  SHERRY_TRY(require(c.lambda_warmup_steps >= -1, "lambda_warmup_steps", "-1 or non-negative",
                     c.lambda_warmup_steps));
  SHERRY_TRY(require(c.lambda_decay_steps >= -1, "lambda_decay_steps", "-1 or non-negative",
                     c.lambda_decay_steps));
  SHERRY_TRY(require(c.eval_every >= 0, "eval_every", "non-negative", c.eval_every));
  SHERRY_TRY(require(c.eval_sequences > 0, "eval_sequences", "positive", c.eval_sequences));
  SHERRY_TRY(
      require(c.checkpoint_every >= 0, "checkpoint_every", "non-negative", c.checkpoint_every));
  SHERRY_TRY(require(c.keep_checkpoints > 0, "keep_checkpoints", "positive", c.keep_checkpoints));
  SHERRY_TRY(require(c.threads >= 0, "threads", "non-negative", c.threads));
  SHERRY_TRY(require(c.diag_rank_layer >= -1 && c.diag_rank_layer < c.model.n_layers,
                     "diag_rank_layer", "-1 or a layer index", c.diag_rank_layer));
  if (is_quantized(c.method) && c.method != QuantMethod::kAbsmean) {
    const ModelConfig& m = c.model;
    for (int cols : {m.dim, m.hidden_dim}) {
      Status s = validate_layout(c.layout(), 1, cols, "config.group_size");
      if (!s.ok()) return s.error().with_context(what);
    }
  }
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
          {"min_lr_ratio", c.min_lr_ratio},
          {"warmup_steps", c.warmup_steps},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"adam_eps", c.adam_eps},
          {"weight_decay", c.weight_decay},
          {"grad_clip", c.grad_clip},
          {"lambda_warmup_steps", c.lambda_warmup_steps},
          {"lambda_decay_steps", c.lambda_decay_steps},
          {"seed", c.seed},
          {"eval_every", c.eval_every},
          {"eval_sequences", c.eval_sequences},
          {"diag_rank_layer", c.diag_rank_layer},
          {"checkpoint_every", c.checkpoint_every},
          {"keep_checkpoints", c.keep_checkpoints},
          {"threads", c.threads},
          {"stop_after", c.stop_after}};
}

}  // namespace sherry::train
