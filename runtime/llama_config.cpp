#include "runtime/llama_config.h"

#include <cmath>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"

namespace sherry::runtime {
namespace names = gguf::names;
namespace {

// A positive integer key no larger than `limit`.
Result<int64_t> positive(const gguf::Reader& reader, std::string_view key, int64_t limit) {
  auto value = reader.get_int(key);
  if (!value) return value.error();
  if (*value < 1 || *value > limit) {
    return make_error("{}: key '{}': expected an integer in [1, {}], found {}", reader.path(), key,
                      limit, *value);
  }
  return *value;
}

// An optional float key with a fallback, checked against (low, high].
Result<float> optional_float(const gguf::Reader& reader, std::string_view key, float fallback,
                             double low, double high) {
  if (reader.find(key) == nullptr) return fallback;
  auto value = reader.get_float(key);
  if (!value) return value.error();
  if (!(*value > low && *value <= high)) {
    return make_error("{}: key '{}': expected a number in ({}, {}], found {}", reader.path(), key,
                      low, high, *value);
  }
  return static_cast<float>(*value);
}

}  // namespace

std::string_view to_string(Architecture architecture) {
  switch (architecture) {
    case Architecture::kLlama:
      return names::kArchitectureLlama;
    case Architecture::kQwen2:
      return names::kArchitectureQwen2;
    case Architecture::kQwen3:
      return names::kArchitectureQwen3;
    case Architecture::kHunyuanDense:
      return names::kArchitectureHunyuanDense;
  }
  return "?";
}

Result<LlamaConfig> read_llama_config(const gguf::Reader& reader) {
  auto arch = reader.get_string(names::kArchitecture);
  if (!arch) return arch.error();
  LlamaConfig c;
  bool known = false;
  for (const Architecture a : {Architecture::kLlama, Architecture::kQwen2, Architecture::kQwen3,
                               Architecture::kHunyuanDense}) {
    if (*arch == to_string(a)) {
      c.architecture = a;
      known = true;
    }
  }
  if (!known) {
    return make_error(
        "{}: key '{}': expected architecture \"llama\", \"qwen2\", \"qwen3\" or \"hunyuan-dense\", "
        "found \"{}\"",
        reader.path(), names::kArchitecture, *arch);
  }
  // The per-architecture switches (llama.cpp's llama_model_rope_type and model graphs).
  c.rope.style = c.architecture == Architecture::kLlama ? RopeStyle::kNorm : RopeStyle::kNeox;
  c.qk_norm = c.architecture == Architecture::kQwen3          ? QkNorm::kBeforeRope
              : c.architecture == Architecture::kHunyuanDense ? QkNorm::kAfterRope
                                                              : QkNorm::kNone;
  // "llama.block_count" → "<arch>.block_count".
  auto key = [&](std::string_view llama_key) { return names::arch_key(*arch, llama_key); };

  constexpr int64_t kMaxDim = int64_t{1} << 20;
  auto hidden = positive(reader, key(names::kEmbeddingLength), kMaxDim);
  if (!hidden) return hidden.error();
  auto layers = positive(reader, key(names::kBlockCount), 4096);
  if (!layers) return layers.error();
  auto heads = positive(reader, key(names::kHeadCount), 4096);
  if (!heads) return heads.error();
  auto ffn = positive(reader, key(names::kFeedForwardLength), kMaxDim);
  if (!ffn) return ffn.error();
  c.hidden = *hidden;
  c.layers = *layers;
  c.heads = *heads;
  c.ffn = *ffn;
  c.kv_heads = c.heads;
  if (reader.find(key(names::kHeadCountKv)) != nullptr) {
    auto kv = positive(reader, key(names::kHeadCountKv), c.heads);
    if (!kv) return kv.error();
    c.kv_heads = *kv;
  }
  if (c.heads % c.kv_heads != 0) {
    return make_error("{}: key '{}': expected a divisor of the head count {}, found {}",
                      reader.path(), key(names::kHeadCountKv), c.heads, c.kv_heads);
  }
  const bool key_length = reader.find(key(names::kKeyLength)) != nullptr;
  if (key_length) {
    auto head_dim = positive(reader, key(names::kKeyLength), kMaxDim);
    if (!head_dim) return head_dim.error();
    c.head_dim = *head_dim;
  } else if (c.hidden % c.heads == 0) {
    c.head_dim = c.hidden / c.heads;
  } else {
    return make_error(
        "{}: key '{}': expected a head count dividing the embedding length {} (or a key '{}'), "
        "found {}",
        reader.path(), key(names::kHeadCount), c.hidden, key(names::kKeyLength), c.heads);
  }
  if (c.head_dim % 2 != 0) {
    return make_error(
        "{}: key '{}': expected an even head dimension (RoPE rotates pairs), found {}",
        reader.path(), key(key_length ? names::kKeyLength : names::kHeadCount), c.head_dim);
  }
  if (reader.find(key(names::kValueLength)) != nullptr) {
    auto value_dim = positive(reader, key(names::kValueLength), kMaxDim);
    if (!value_dim) return value_dim.error();
    if (*value_dim != c.head_dim) {
      return make_error("{}: key '{}': expected the key length {}, found {}", reader.path(),
                        key(names::kValueLength), c.head_dim, *value_dim);
    }
  }

  c.context = 2048;
  if (reader.find(key(names::kContextLength)) != nullptr) {
    auto context = positive(reader, key(names::kContextLength), int64_t{1} << 24);
    if (!context) return context.error();
    c.context = *context;
  }
  if (reader.find(key(names::kVocabSize)) != nullptr) {
    auto vocab = positive(reader, key(names::kVocabSize), int64_t{1} << 24);
    if (!vocab) return vocab.error();
    c.vocab = *vocab;
  } else if (const gguf::TensorInfo* embd = reader.find_tensor(names::kTokenEmbedding);
             embd != nullptr && embd->shape.size() == 2) {
    c.vocab = embd->shape[1];
  } else {
    return make_error(
        "{}: key '{}': expected the vocabulary size, found neither the key nor a "
        "2-D tensor '{}'",
        reader.path(), key(names::kVocabSize), names::kTokenEmbedding);
  }

  auto eps = optional_float(reader, key(names::kLayerNormRmsEpsilon), 1e-5f, 0.0, 1.0);
  if (!eps) return eps.error();
  c.rms_eps = *eps;

  RopeConfig& rope = c.rope;
  rope.dims = c.head_dim;
  if (reader.find(key(names::kRopeDimensionCount)) != nullptr) {
    auto dims = positive(reader, key(names::kRopeDimensionCount), c.head_dim);
    if (!dims) return dims.error();
    if (*dims % 2 != 0) {
      return make_error("{}: key '{}': expected an even number, found {}", reader.path(),
                        key(names::kRopeDimensionCount), *dims);
    }
    rope.dims = *dims;
  }
  auto base = optional_float(reader, key(names::kRopeFreqBase), 10000.0f, 1.0, 1e12);
  if (!base) return base.error();
  rope.freq_base = *base;
  if (c.architecture == Architecture::kHunyuanDense) {
    // llama.cpp (llama_model_hunyuan_vl::load_arch_hparams): NTK-aware alpha scaling of the base,
    // in float as there. Files from its converter carry the scaled base and no alpha.
    auto alpha = optional_float(reader, key(names::kRopeScalingAlpha), 0.0f, -1.0, 1e6);
    if (!alpha) return alpha.error();
    if (*alpha > 0.0f) {
      const auto d = static_cast<float>(c.head_dim);
      rope.freq_base *= std::pow(*alpha, d / (d - 2.0f));
    }
  }
  if (reader.find(key(names::kRopeScalingType)) != nullptr) {
    auto type = reader.get_string(key(names::kRopeScalingType));
    if (!type) return type.error();
    if (*type == "none") {
      rope.scaling = RopeScaling::kNone;
    } else if (*type == "linear") {
      rope.scaling = RopeScaling::kLinear;
    } else if (*type == "llama3") {
      rope.scaling = RopeScaling::kLlama3;
    } else {
      return make_error("{}: key '{}': expected \"none\", \"linear\" or \"llama3\", found \"{}\"",
                        reader.path(), key(names::kRopeScalingType), *type);
    }
  }
  auto factor = optional_float(reader, key(names::kRopeScalingFactor), 1.0f, 0.0, 1e6);
  if (!factor) return factor.error();
  rope.factor = *factor;
  auto low = optional_float(reader, key(names::kRopeScalingLowFreqFactor), 1.0f, 0.0, 1e6);
  if (!low) return low.error();
  auto high = optional_float(reader, key(names::kRopeScalingHighFreqFactor), 4.0f, 0.0, 1e6);
  if (!high) return high.error();
  rope.low_freq_factor = *low;
  rope.high_freq_factor = *high;
  if (rope.scaling == RopeScaling::kLlama3 && !(rope.high_freq_factor > rope.low_freq_factor)) {
    return make_error("{}: key '{}': expected a value above {} = {}, found {}", reader.path(),
                      key(names::kRopeScalingHighFreqFactor), key(names::kRopeScalingLowFreqFactor),
                      rope.low_freq_factor, rope.high_freq_factor);
  }
  rope.original_context = c.context;
  if (reader.find(key(names::kRopeScalingOriginalContextLength)) != nullptr) {
    auto original =
        positive(reader, key(names::kRopeScalingOriginalContextLength), int64_t{1} << 24);
    if (!original) return original.error();
    rope.original_context = *original;
  }
  return c;
}

}  // namespace sherry::runtime
