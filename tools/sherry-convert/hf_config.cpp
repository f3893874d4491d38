#include "tools/sherry-convert/hf_config.h"

#include "tools/sherry-convert/strict_json.h"

namespace sherry::hf {
namespace {

using nlohmann::json;

constexpr int64_t kMaxDim = int64_t{1} << 20;

// bos_token_id / eos_token_id: an integer, a list of integers, or absent.
Result<std::vector<int64_t>> token_ids(const JsonObject& config, std::string_view key) {
  const json* value = config.find(key);
  if (value == nullptr) return std::vector<int64_t>();
  std::vector<int64_t> ids;
  const auto add = [&](const json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) return false;
    ids.push_back(v.get<int64_t>());
    return true;
  };
  bool ok = value->is_array() ? !value->empty() : add(*value);
  if (value->is_array()) {
    for (const json& v : *value) ok = ok && add(v);
  }
  if (!ok) return config.mismatch(key, "a token id or a list of token ids");
  return ids;
}

// rope_scaling (or transformers 5's rope_parameters): none, "default", "linear", "llama3".
Status read_rope(const JsonObject& config, HfConfig& c) {
  const char* key = config.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  const json* rope = config.find(key);
  auto theta = config.number_or("rope_theta", 10000.0, 1.0, 1e12);
  if (!theta) return theta.error();
  c.rope_theta = *theta;
  if (rope == nullptr) return {};
  if (!rope->is_object()) return config.mismatch(key, "an object");
  const JsonObject r(*rope, fmt::format("{}: key '{}'", config.source(), key));
  auto inner_theta = r.number_or("rope_theta", c.rope_theta, 1.0, 1e12);
  if (!inner_theta) return inner_theta.error();
  c.rope_theta = *inner_theta;
  auto type = r.string_or("rope_type", "");
  if (!type) return type.error();
  if (type->empty()) {
    auto old = r.string_or("type", "default");  // the key's older name
    if (!old) return old.error();
    type = *old;
  }
  if (*type == "default") return {};
  if (*type != "linear" && *type != "llama3") {
    return make_error(
        "{}: key '{}': expected rope_type default, linear or llama3 (what sherry's runtime "
        "computes), found \"{}\"",
        config.source(), key, *type);
  }
  c.rope_scaling = *type;
  auto factor = r.number_or("factor", 0.0, 1e-6, 1e6);
  if (!factor) return factor.error();
  if (*factor == 0.0) return r.mismatch("factor", "a number in [1e-06, 1000000]");
  c.rope_factor = *factor;
  if (*type == "llama3") {
    auto low = r.number_or("low_freq_factor", 1.0, 1e-6, 1e6);
    if (!low) return low.error();
    auto high = r.number_or("high_freq_factor", 4.0, 1e-6, 1e6);
    if (!high) return high.error();
    if (!(*high > *low)) return r.mismatch("high_freq_factor", "a value above low_freq_factor");
    auto original = r.integer("original_max_position_embeddings", 1, int64_t{1} << 24);
    if (!original) return original.error();
    c.rope_low_freq_factor = *low;
    c.rope_high_freq_factor = *high;
    c.rope_original_context = *original;
  }
  return {};
}

// AngelSlim's QAT fields (train_llama.py copies its arguments into the config).
Result<std::optional<SherryTraining>> read_training(const JsonObject& config) {
  if (!config.has("quant_method")) return std::optional<SherryTraining>();
  SherryTraining t;
  auto method = config.string_or("quant_method", "");
  if (!method) return method.error();
  t.quant_method = *method;
  auto granularity = config.string_or("granularity", "per_group");
  if (!granularity) return granularity.error();
  t.granularity = *granularity;
  auto group = config.integer_or("group_size", 0, 0, kMaxDim);
  if (!group) return group.error();
  t.group_size = *group;
  auto n = config.integer_or("N", 0, 0, 64);
  if (!n) return n.error();
  auto m = config.integer_or("M", 0, 0, 64);
  if (!m) return m.error();
  t.n = *n;
  t.m = *m;
  return std::optional<SherryTraining>(t);
}

}  // namespace

std::string_view to_string(HfArchitecture architecture) {
  switch (architecture) {
    case HfArchitecture::kLlama:
      return "LlamaForCausalLM";
    case HfArchitecture::kQwen2:
      return "Qwen2ForCausalLM";
    case HfArchitecture::kQwen3:
      return "Qwen3ForCausalLM";
  }
  return "?";
}

std::string_view gguf_architecture(HfArchitecture architecture) {
  switch (architecture) {
    case HfArchitecture::kLlama:
      return "llama";
    case HfArchitecture::kQwen2:
      return "qwen2";
    case HfArchitecture::kQwen3:
      return "qwen3";
  }
  return "?";
}

Result<HfConfig> parse_hf_config(std::string_view text, const std::string& source) {
  auto parsed = parse_strict_json(text, source);
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) {
    return make_error("{}: expected a JSON object, found {}", source, parsed->type_name());
  }
  const JsonObject config(*parsed, source);
  HfConfig c;

  const json* architectures = config.find("architectures");
  bool known = false;
  if (architectures != nullptr && architectures->is_array() && architectures->size() == 1 &&
      (*architectures)[0].is_string()) {
    for (const HfArchitecture a :
         {HfArchitecture::kLlama, HfArchitecture::kQwen2, HfArchitecture::kQwen3}) {
      if ((*architectures)[0].get_ref<const std::string&>() == to_string(a)) {
        c.architecture = a;
        known = true;
      }
    }
  }
  if (!known) {
    return config.mismatch("architectures",
                           "[\"LlamaForCausalLM\"], [\"Qwen2ForCausalLM\"] or "
                           "[\"Qwen3ForCausalLM\"]");
  }

  auto hidden = config.integer("hidden_size", 1, kMaxDim);
  if (!hidden) return hidden.error();
  auto layers = config.integer("num_hidden_layers", 1, 4096);
  if (!layers) return layers.error();
  auto heads = config.integer("num_attention_heads", 1, 4096);
  if (!heads) return heads.error();
  auto kv_heads = config.integer_or("num_key_value_heads", *heads, 1, *heads);
  if (!kv_heads) return kv_heads.error();
  auto ffn = config.integer("intermediate_size", 1, kMaxDim);
  if (!ffn) return ffn.error();
  auto vocab = config.integer("vocab_size", 1, int64_t{1} << 24);
  if (!vocab) return vocab.error();
  auto context = config.integer_or("max_position_embeddings", 2048, 1, int64_t{1} << 24);
  if (!context) return context.error();
  c.hidden = *hidden;
  c.layers = *layers;
  c.heads = *heads;
  c.kv_heads = *kv_heads;
  c.ffn = *ffn;
  c.vocab = *vocab;
  c.context = *context;
  if (c.heads % c.kv_heads != 0) {
    return config.mismatch("num_key_value_heads",
                           fmt::format("a divisor of num_attention_heads {}", c.heads));
  }
  c.explicit_head_dim = config.has("head_dim");
  if (c.explicit_head_dim) {
    auto head_dim = config.integer("head_dim", 2, kMaxDim);
    if (!head_dim) return head_dim.error();
    c.head_dim = *head_dim;
  } else if (c.hidden % c.heads == 0) {
    c.head_dim = c.hidden / c.heads;
  } else {
    return config.mismatch("num_attention_heads",
                           fmt::format("a divisor of hidden_size {} (or a head_dim)", c.hidden));
  }
  if (c.head_dim % 2 != 0) {
    return make_error("{}: key 'head_dim': expected an even head width (RoPE pairs), found {}",
                      source, c.head_dim);
  }

  auto eps = config.number_or("rms_norm_eps", 1e-6, 1e-12, 1.0);
  if (!eps) return eps.error();
  c.rms_eps = *eps;
  SHERRY_TRY(read_rope(config, c));
  auto tie = config.boolean_or("tie_word_embeddings", false);
  if (!tie) return tie.error();
  c.tie_embeddings = *tie;

  auto act = config.string_or("hidden_act", "silu");
  if (!act) return act.error();
  if (*act != "silu") return config.mismatch("hidden_act", "\"silu\" (SwiGLU)");
  auto mlp_bias = config.boolean_or("mlp_bias", false);
  if (!mlp_bias) return mlp_bias.error();
  if (*mlp_bias) return config.mismatch("mlp_bias", "false (sherry has no MLP biases)");
  // Qwen2 always has q/k/v biases and no o_proj bias; Llama's and Qwen3's attention_bias adds
  // biases to all four projections, and sherry's runtime has none on o_proj.
  auto attention_bias = config.boolean_or("attention_bias", false);
  if (!attention_bias) return attention_bias.error();
  if (*attention_bias && c.architecture != HfArchitecture::kQwen2) {
    return config.mismatch("attention_bias",
                           "false (it adds an o_proj bias, which sherry does not run)");
  }
  c.attention_bias = c.architecture == HfArchitecture::kQwen2;
  auto sliding = config.boolean_or("use_sliding_window", false);
  if (!sliding) return sliding.error();
  if (*sliding) {
    return config.mismatch("use_sliding_window", "false (sherry runs full attention only)");
  }

  auto bos = token_ids(config, "bos_token_id");
  if (!bos) return bos.error();
  auto eos = token_ids(config, "eos_token_id");
  if (!eos) return eos.error();
  c.bos_ids = std::move(*bos);
  c.eos_ids = std::move(*eos);
  auto training = read_training(config);
  if (!training) return training.error();
  c.training = *training;
  return c;
}

}  // namespace sherry::hf
