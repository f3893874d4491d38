#include "trainer/qat/model_config.h"

#include <set>

#include <nlohmann/json.hpp>

#include "trainer/qat/json_fields.h"

namespace sherry::train {

Status validate_model_config(const ModelConfig& c, const std::string& what) {
  auto positive = [&](const char* name, int value) -> Status {
    if (value <= 0) return make_error("{}: model.{} must be positive, found {}", what, name, value);
    return Status::success();
  };
  SHERRY_TRY(positive("dim", c.dim));
  SHERRY_TRY(positive("n_layers", c.n_layers));
  SHERRY_TRY(positive("n_heads", c.n_heads));
  SHERRY_TRY(positive("n_kv_heads", c.n_kv_heads));
  SHERRY_TRY(positive("hidden_dim", c.hidden_dim));
  SHERRY_TRY(positive("vocab_size", c.vocab_size));
  SHERRY_TRY(positive("seq_len", c.seq_len));
  if (c.dim % c.n_heads != 0)
    return make_error(
        "{}: model.dim must be a multiple of model.n_heads, found dim {} and n_heads {}", what,
        c.dim, c.n_heads);
  if (c.head_dim() % 2 != 0)
    return make_error("{}: model.dim / model.n_heads must be even for RoPE, found {}", what,
                      c.head_dim());
  if (c.n_heads % c.n_kv_heads != 0)
    return make_error("{}: model.n_heads must be a multiple of model.n_kv_heads, found {} and {}",
                      what, c.n_heads, c.n_kv_heads);
  if (!(c.norm_eps > 0.0f))
    return make_error("{}: model.norm_eps must be positive, found {}", what, c.norm_eps);
  if (!(c.rope_theta > 0.0f))
    return make_error("{}: model.rope_theta must be positive, found {}", what, c.rope_theta);
  return Status::success();
}

Result<ModelConfig> model_config_from_json(const nlohmann::json& json, const std::string& what) {
  ModelConfig c;
  JsonFields fields(json, what, "model");
  SHERRY_TRY(fields.read("dim", c.dim));
  SHERRY_TRY(fields.read("n_layers", c.n_layers));
  SHERRY_TRY(fields.read("n_heads", c.n_heads));
  SHERRY_TRY(fields.read("n_kv_heads", c.n_kv_heads));
  SHERRY_TRY(fields.read("hidden_dim", c.hidden_dim));
  SHERRY_TRY(fields.read("vocab_size", c.vocab_size));
  SHERRY_TRY(fields.read("seq_len", c.seq_len));
  SHERRY_TRY(fields.read("norm_eps", c.norm_eps));
  SHERRY_TRY(fields.read("rope_theta", c.rope_theta));
  SHERRY_TRY(fields.read("tied_embeddings", c.tied_embeddings));
  SHERRY_TRY(fields.reject_unknown());
  SHERRY_TRY(validate_model_config(c, what));
  return c;
}

nlohmann::json model_config_to_json(const ModelConfig& c) {
  return {{"dim", c.dim},
          {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},
          {"n_kv_heads", c.n_kv_heads},
          {"hidden_dim", c.hidden_dim},
          {"vocab_size", c.vocab_size},
          {"seq_len", c.seq_len},
          {"norm_eps", c.norm_eps},
          {"rope_theta", c.rope_theta},
          {"tied_embeddings", c.tied_embeddings}};
}

int64_t parameter_count(const ModelConfig& c) {
  const int64_t d = c.dim, kv = c.kv_dim(), f = c.hidden_dim, v = c.vocab_size;
  const int64_t per_layer = 2 * d + d * d * 2 + 2 * kv * d + 3 * f * d;
  return v * d * (c.tied_embeddings ? 1 : 2) + d + c.n_layers * per_layer;
}

}  // namespace sherry::train
