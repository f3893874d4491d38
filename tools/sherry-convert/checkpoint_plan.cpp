#include "tools/sherry-convert/checkpoint_plan.h"

#include <algorithm>
#include <map>

#include <fmt/ranges.h>

#include "runtime/gguf/llama_names.h"

namespace sherry::hf {
namespace {

namespace names = gguf::names;
using Kind = TensorPlan::Kind;

bool is_float_dtype(Dtype dtype) {
  return dtype == Dtype::kF32 || dtype == Dtype::kF16 || dtype == Dtype::kBF16;
}

std::string shape_text(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

Result<std::vector<TensorPlan>> plan_conversion(const HfConfig& c,
                                                std::span<const SafetensorsTensor* const> tensors,
                                                const std::string& dir, bool skip_unknown,
                                                std::vector<std::string>* warnings) {
  const int64_t q_dim = c.heads * c.head_dim;
  const int64_t kv_dim = c.kv_heads * c.head_dim;
  const bool llama = c.architecture == HfArchitecture::kLlama;
  std::vector<TensorPlan> plan;
  auto add = [&](std::string hf, std::string gguf, std::vector<int64_t> shape, Kind kind,
                 int64_t permute = 0) {
    plan.push_back({std::move(hf), std::move(gguf), std::move(shape), kind, permute});
  };
  add("model.embed_tokens.weight", std::string(names::kTokenEmbedding), {c.vocab, c.hidden},
      Kind::kEmbedding);
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = fmt::format("model.layers.{}.", l);
    auto blk = [&](std::string_view suffix) { return names::block_tensor(l, suffix); };
    add(p + "input_layernorm.weight", blk(names::kAttnNorm), {c.hidden}, Kind::kVector);
    add(p + "self_attn.q_proj.weight", blk(names::kAttnQ), {q_dim, c.hidden}, Kind::kLinear,
        llama ? c.heads : 0);
    add(p + "self_attn.k_proj.weight", blk(names::kAttnK), {kv_dim, c.hidden}, Kind::kLinear,
        llama ? c.kv_heads : 0);
    add(p + "self_attn.v_proj.weight", blk(names::kAttnV), {kv_dim, c.hidden}, Kind::kLinear);
    if (c.attention_bias) {
      add(p + "self_attn.q_proj.bias", blk(names::kAttnQBias), {q_dim}, Kind::kVector,
          llama ? c.heads : 0);
      add(p + "self_attn.k_proj.bias", blk(names::kAttnKBias), {kv_dim}, Kind::kVector,
          llama ? c.kv_heads : 0);
      add(p + "self_attn.v_proj.bias", blk(names::kAttnVBias), {kv_dim}, Kind::kVector);
    }
    if (c.architecture == HfArchitecture::kQwen3) {
      add(p + "self_attn.q_norm.weight", blk(names::kAttnQNorm), {c.head_dim}, Kind::kVector);
      add(p + "self_attn.k_norm.weight", blk(names::kAttnKNorm), {c.head_dim}, Kind::kVector);
    }
    add(p + "self_attn.o_proj.weight", blk(names::kAttnOutput), {c.hidden, q_dim}, Kind::kLinear);
    add(p + "post_attention_layernorm.weight", blk(names::kFfnNorm), {c.hidden}, Kind::kVector);
    add(p + "mlp.gate_proj.weight", blk(names::kFfnGate), {c.ffn, c.hidden}, Kind::kLinear);
    add(p + "mlp.up_proj.weight", blk(names::kFfnUp), {c.ffn, c.hidden}, Kind::kLinear);
    add(p + "mlp.down_proj.weight", blk(names::kFfnDown), {c.hidden, c.ffn}, Kind::kLinear);
  }
  add("model.norm.weight", std::string(names::kOutputNorm), {c.hidden}, Kind::kVector);
  if (!c.tie_embeddings) {
    add("lm_head.weight", std::string(names::kOutput), {c.vocab, c.hidden}, Kind::kHead);
  }

  std::map<std::string_view, const SafetensorsTensor*> present;
  for (const SafetensorsTensor* t : tensors) present.emplace(t->name, t);
  for (const TensorPlan& p : plan) {
    const auto it = present.find(p.hf_name);
    if (it == present.end()) {
      return make_error(
          "{}: tensor '{}': expected shape {} (for '{}' of a {}), found no such "
          "tensor in the checkpoint",
          dir, p.hf_name, shape_text(p.shape), p.gguf_name, to_string(c.architecture));
    }
    const SafetensorsTensor& t = *it->second;
    if (!is_float_dtype(t.dtype)) {
      return make_error("{}: tensor '{}': expected dtype F32, F16 or BF16, found {}", *t.file,
                        t.name, to_string(t.dtype));
    }
    if (t.shape != p.shape) {
      return make_error("{}: tensor '{}': expected shape {} (from config.json), found {}", *t.file,
                        t.name, shape_text(p.shape), shape_text(t.shape));
    }
    present.erase(it);
  }
  // What is left: dropped on purpose, or unknown.
  std::vector<std::string> unknown;
  for (const auto& [name, t] : present) {
    if (name.ends_with("rotary_emb.inv_freq")) continue;  // a RoPE buffer old checkpoints save
    if (name == "lm_head.weight" && c.tie_embeddings) {
      if (warnings != nullptr) {
        warnings->push_back(
            "lm_head.weight skipped: tie_word_embeddings is true, so the LM head is the token "
            "embedding");
      }
      continue;
    }
    unknown.emplace_back(name);
  }
  if (!unknown.empty() && !skip_unknown) {
    const size_t shown = std::min<size_t>(unknown.size(), 5);
    return make_error(
        "{}: expected only the tensors of a {}, found {} other{}: {}{} (--skip-unknown converts "
        "without them)",
        dir, to_string(c.architecture), unknown.size(), unknown.size() == 1 ? "" : "s",
        fmt::join(unknown.begin(), unknown.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
        unknown.size() > shown ? ", ..." : "");
  }
  for (const std::string& name : unknown) {
    if (warnings != nullptr) {
      warnings->push_back(
          fmt::format("skipped tensor '{}' (not part of a {})", name, to_string(c.architecture)));
    }
  }
  return plan;
}

}  // namespace sherry::hf
