#include "runtime/llama_config.h"

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

Result<LlamaConfig> read_llama_config(const gguf::Reader& reader) {
  auto arch = reader.get_string(names::kArchitecture);
  if (!arch) return arch.error();
  if (*arch != names::kArchitectureLlama) {
    return make_error("{}: key '{}': expected architecture \"llama\", found \"{}\"", reader.path(),
                      names::kArchitecture, *arch);
  }
  constexpr int64_t kMaxDim = int64_t{1} << 20;
  LlamaConfig c;
  auto hidden = positive(reader, names::kEmbeddingLength, kMaxDim);
  if (!hidden) return hidden.error();
  auto layers = positive(reader, names::kBlockCount, 4096);
  if (!layers) return layers.error();
  auto heads = positive(reader, names::kHeadCount, 4096);
  if (!heads) return heads.error();
  auto ffn = positive(reader, names::kFeedForwardLength, kMaxDim);
  if (!ffn) return ffn.error();
  c.hidden = *hidden;
  c.layers = *layers;
  c.heads = *heads;
  c.ffn = *ffn;
  c.kv_heads = c.heads;
  if (reader.find(names::kHeadCountKv) != nullptr) {
    auto kv = positive(reader, names::kHeadCountKv, c.heads);
    if (!kv) return kv.error();
    c.kv_heads = *kv;
  }
  if (c.hidden % c.heads != 0 || (c.hidden / c.heads) % 2 != 0) {
    return make_error(
        "{}: key '{}': expected a head count dividing the embedding length {} into "
        "even head dimensions, found {}",
        reader.path(), names::kHeadCount, c.hidden, c.heads);
  }
  if (c.heads % c.kv_heads != 0) {
    return make_error("{}: key '{}': expected a divisor of the head count {}, found {}",
                      reader.path(), names::kHeadCountKv, c.heads, c.kv_heads);
  }
  c.head_dim = c.hidden / c.heads;

  c.context = 2048;
  if (reader.find(names::kContextLength) != nullptr) {
    auto context = positive(reader, names::kContextLength, int64_t{1} << 24);
    if (!context) return context.error();
    c.context = *context;
  }
  if (reader.find(names::kVocabSize) != nullptr) {
    auto vocab = positive(reader, names::kVocabSize, int64_t{1} << 24);
    if (!vocab) return vocab.error();
    c.vocab = *vocab;
  } else if (const gguf::TensorInfo* embd = reader.find_tensor(names::kTokenEmbedding);
             embd != nullptr && embd->shape.size() == 2) {
    c.vocab = embd->shape[1];
  } else {
    return make_error(
        "{}: key '{}': expected the vocabulary size, found neither the key nor a "
        "2-D tensor '{}'",
        reader.path(), names::kVocabSize, names::kTokenEmbedding);
  }

  auto eps = optional_float(reader, names::kLayerNormRmsEpsilon, 1e-5f, 0.0, 1.0);
  if (!eps) return eps.error();
  c.rms_eps = *eps;

  RopeConfig& rope = c.rope;
  rope.dims = c.head_dim;
  if (reader.find(names::kRopeDimensionCount) != nullptr) {
    auto dims = positive(reader, names::kRopeDimensionCount, c.head_dim);
    if (!dims) return dims.error();
    if (*dims % 2 != 0) {
      return make_error("{}: key '{}': expected an even number, found {}", reader.path(),
                        names::kRopeDimensionCount, *dims);
    }
    rope.dims = *dims;
  }
  auto base = optional_float(reader, names::kRopeFreqBase, 10000.0f, 1.0, 1e12);
  if (!base) return base.error();
  rope.freq_base = *base;
  if (reader.find(names::kRopeScalingType) != nullptr) {
    auto type = reader.get_string(names::kRopeScalingType);
    if (!type) return type.error();
    if (*type == "none") {
      rope.scaling = RopeScaling::kNone;
    } else if (*type == "linear") {
      rope.scaling = RopeScaling::kLinear;
    } else if (*type == "llama3") {
      rope.scaling = RopeScaling::kLlama3;
    } else {
      return make_error("{}: key '{}': expected \"none\", \"linear\" or \"llama3\", found \"{}\"",
                        reader.path(), names::kRopeScalingType, *type);
    }
  }
  auto factor = optional_float(reader, names::kRopeScalingFactor, 1.0f, 0.0, 1e6);
  if (!factor) return factor.error();
  rope.factor = *factor;
  auto low = optional_float(reader, names::kRopeScalingLowFreqFactor, 1.0f, 0.0, 1e6);
  if (!low) return low.error();
  auto high = optional_float(reader, names::kRopeScalingHighFreqFactor, 4.0f, 0.0, 1e6);
  if (!high) return high.error();
  rope.low_freq_factor = *low;
  rope.high_freq_factor = *high;
  if (rope.scaling == RopeScaling::kLlama3 && !(rope.high_freq_factor > rope.low_freq_factor)) {
    return make_error("{}: key '{}': expected a value above {} = {}, found {}", reader.path(),
                      names::kRopeScalingHighFreqFactor, names::kRopeScalingLowFreqFactor,
                      rope.low_freq_factor, rope.high_freq_factor);
  }
  rope.original_context = c.context;
  if (reader.find(names::kRopeScalingOriginalContextLength) != nullptr) {
    auto original = positive(reader, names::kRopeScalingOriginalContextLength, int64_t{1} << 24);
    if (!original) return original.error();
    rope.original_context = *original;
  }
  return c;
}

}  // namespace sherry::runtime
