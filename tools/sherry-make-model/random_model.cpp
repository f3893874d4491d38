#include "tools/sherry-make-model/random_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"

namespace sherry::gguf {
namespace {

constexpr std::string_view kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's word boundary

// llama.cpp's general.file_type values (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16).
uint32_t file_type(TensorType type) {
  switch (type) {
    case TensorType::kF16:
      return 1;
    case TensorType::kBF16:
      return 32;
    default:
      return 0;
  }
}

// Lowercase strings of length n in lexicographic order, index i.
std::string letters(int64_t i, int n) {
  std::string s(static_cast<size_t>(n), 'a');
  for (int k = n - 1; k >= 0; --k, i /= 26)
    s[static_cast<size_t>(k)] = static_cast<char>('a' + i % 26);
  return s;
}

}  // namespace

Result<TensorType> parse_float_type(const std::string& text) {
  if (text == "f32") return TensorType::kF32;
  if (text == "f16") return TensorType::kF16;
  if (text == "bf16") return TensorType::kBF16;
  return make_error("--type: expected f32, f16 or bf16, found '{}'", text);
}

Status validate_random_model_spec(const RandomModelSpec& s) {
  const std::string_view known[] = {names::kArchitectureLlama, names::kArchitectureQwen2,
                                    names::kArchitectureQwen3, names::kArchitectureHunyuanDense};
  if (std::find(std::begin(known), std::end(known), s.architecture) == std::end(known)) {
    return make_error("--arch: expected llama, qwen2, qwen3 or hunyuan-dense, found '{}'",
                      s.architecture);
  }
  const std::pair<const char*, int64_t> positive[] = {
      {"hidden", s.hidden}, {"layers", s.layers}, {"heads", s.heads}, {"kv-heads", s.kv_heads},
      {"ffn", s.ffn},       {"vocab", s.vocab},   {"ctx", s.context},
  };
  for (const auto& [name, value] : positive) {
    if (value <= 0) return make_error("--{}: expected a positive number, found {}", name, value);
  }
  if (s.rope_alpha != 0.0f && !(s.rope_alpha > 0.0f && s.architecture == "hunyuan-dense")) {
    return make_error(
        "--rope-alpha: expected a positive number with --arch hunyuan-dense, found {}",
        s.rope_alpha);
  }
  if (s.head_dim < 0 || s.head_dim % 2 != 0) {
    return make_error("--head-dim: expected 0 or a positive even number, found {}", s.head_dim);
  }
  if (s.head_dim == 0 && (s.hidden % s.heads != 0 || (s.hidden / s.heads) % 2 != 0)) {
    return make_error(
        "--heads: expected a divisor of --hidden {} giving an even head size, found {}", s.hidden,
        s.heads);
  }
  if (s.heads % s.kv_heads != 0) {
    return make_error("--kv-heads: expected a divisor of --heads {}, found {}", s.heads,
                      s.kv_heads);
  }
  if (s.vocab < kMinRandomModelVocab) {
    return make_error(
        "--vocab: expected at least {} (3 control tokens and 256 byte tokens), found {}",
        kMinRandomModelVocab, s.vocab);
  }
  if (s.type != TensorType::kF32 && s.type != TensorType::kF16 && s.type != TensorType::kBF16) {
    return make_error("--type: expected f32, f16 or bf16, found {}", tensor_type_name(s.type));
  }
  if (!(s.rope_base > 0.0f) || !std::isfinite(s.rope_base)) {
    return make_error("--rope-base: expected a positive number, found {}", s.rope_base);
  }
  return {};
}

std::vector<std::string> random_model_vocab(int64_t vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) tokens.push_back(fmt::format("<0x{:02X}>", b));
  std::set<std::string> seen(tokens.begin(), tokens.end());
  auto add = [&](std::string piece) {
    if (static_cast<int64_t>(tokens.size()) < vocab && seen.insert(piece).second) {
      tokens.push_back(std::move(piece));
    }
  };
  add(std::string(kSpace));
  for (char c = '!'; c <= '~'; ++c) add(std::string(1, c));
  // Then words of growing length, each with and without the word-boundary mark: endless and
  // distinct, so any vocabulary size can be filled.
  for (int n = 1; static_cast<int64_t>(tokens.size()) < vocab; ++n) {
    const int64_t count = static_cast<int64_t>(std::pow(26.0, n));
    for (int64_t i = 0; i < count && static_cast<int64_t>(tokens.size()) < vocab; ++i) {
      add(std::string(kSpace) + letters(i, n));
      if (n > 1) add(letters(i, n));
    }
  }
  return tokens;
}

Status write_random_model(const RandomModelSpec& spec, const std::string& path) {
  SHERRY_TRY(validate_random_model_spec(spec));
  namespace n = names;
  const int64_t head_dim = spec.head_dim > 0 ? spec.head_dim : spec.hidden / spec.heads;
  const int64_t q_dim = spec.heads * head_dim;
  const int64_t kv_dim = spec.kv_heads * head_dim;
  const std::string& arch = spec.architecture;
  auto key = [&](std::string_view llama_key) { return n::arch_key(arch, llama_key); };
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };

  Writer writer;
  writer.set_string(std::string(n::kArchitecture), arch);
  writer.set_string(std::string(n::kName), fmt::format("sherry random {} h{} l{} seed {}", arch,
                                                       spec.hidden, spec.layers, spec.seed));
  writer.set_uint32(std::string(n::kFileType), file_type(spec.type));
  writer.set_uint32(key(n::kContextLength), u32(spec.context));
  writer.set_uint32(key(n::kEmbeddingLength), u32(spec.hidden));
  writer.set_uint32(key(n::kBlockCount), u32(spec.layers));
  writer.set_uint32(key(n::kFeedForwardLength), u32(spec.ffn));
  writer.set_uint32(key(n::kHeadCount), u32(spec.heads));
  writer.set_uint32(key(n::kHeadCountKv), u32(spec.kv_heads));
  if (spec.head_dim > 0) {
    writer.set_uint32(key(n::kKeyLength), u32(head_dim));
    writer.set_uint32(key(n::kValueLength), u32(head_dim));
  }
  writer.set_uint32(key(n::kRopeDimensionCount), u32(head_dim));
  writer.set_float32(key(n::kRopeFreqBase), spec.rope_base);
  if (spec.rope_alpha > 0.0f) writer.set_float32(key(n::kRopeScalingAlpha), spec.rope_alpha);
  writer.set_float32(key(n::kLayerNormRmsEpsilon), spec.rms_epsilon);
  writer.set_uint32(key(n::kVocabSize), u32(spec.vocab));

  const std::vector<std::string> tokens = random_model_vocab(spec.vocab);
  std::vector<float> scores(tokens.size(), 0.0f);
  std::vector<int32_t> types(tokens.size(), static_cast<int32_t>(n::TokenType::kNormal));
  types[0] = static_cast<int32_t>(n::TokenType::kUnknown);
  types[1] = types[2] = static_cast<int32_t>(n::TokenType::kControl);
  for (int64_t i = kByteTokenOffset; i < kMinRandomModelVocab; ++i) {
    types[static_cast<size_t>(i)] = static_cast<int32_t>(n::TokenType::kByte);
  }
  for (size_t i = kMinRandomModelVocab; i < tokens.size(); ++i) {
    scores[i] = -static_cast<float>(i - kMinRandomModelVocab);  // earlier pieces are preferred
  }
  writer.set_string(std::string(n::kTokenizerModel), "llama");
  writer.set_string(std::string(n::kTokenizerPre), "default");
  writer.set_string_array(std::string(n::kTokenizerTokens), tokens);
  writer.set_float32_array(std::string(n::kTokenizerScores), scores);
  writer.set_int32_array(std::string(n::kTokenizerTokenType), types);
  writer.set_uint32(std::string(n::kTokenizerUnknownId), 0);
  writer.set_uint32(std::string(n::kTokenizerBosId), 1);
  writer.set_uint32(std::string(n::kTokenizerEosId), 2);
  writer.set_bool(std::string(n::kTokenizerAddBos), true);
  writer.set_bool(std::string(n::kTokenizerAddEos), false);
  writer.set_bool(std::string(n::kTokenizerAddSpacePrefix), true);

  std::mt19937_64 rng(spec.seed);
  std::vector<float> values;
  // A (rows × cols) matrix, ne = [cols, rows], N(0, std²).
  auto matrix = [&](std::string name, int64_t cols, int64_t rows, float std_dev) {
    std::normal_distribution<float> normal(0.0f, std_dev);
    values.resize(static_cast<size_t>(rows * cols));
    for (float& v : values) v = normal(rng);
    add_float_tensor(writer, std::move(name), spec.type, {cols, rows}, values);
  };
  // RMSNorm gains near 1 and biases near 0, always F32 (as llama.cpp's converters store them).
  auto vector = [&](std::string name, int64_t size, float low, float high) {
    std::uniform_real_distribution<float> uniform(low, high);
    values.resize(static_cast<size_t>(size));
    for (float& v : values) v = uniform(rng);
    add_float_tensor(writer, std::move(name), TensorType::kF32, {size}, values);
  };
  auto norm = [&](std::string name) { vector(std::move(name), spec.hidden, 0.9f, 1.1f); };
  const bool biases = arch == n::kArchitectureQwen2;
  const bool qk_norms = arch == n::kArchitectureQwen3 || arch == n::kArchitectureHunyuanDense;
  // Linear layers scaled by 1/sqrt(fan-in), so activations keep their size through the layers.
  auto linear_std = [](int64_t fan_in) { return 1.0f / std::sqrt(static_cast<float>(fan_in)); };

  matrix(std::string(n::kTokenEmbedding), spec.hidden, spec.vocab, 1.0f);
  for (int64_t l = 0; l < spec.layers; ++l) {
    norm(n::block_tensor(l, n::kAttnNorm));
    matrix(n::block_tensor(l, n::kAttnQ), spec.hidden, q_dim, linear_std(spec.hidden));
    matrix(n::block_tensor(l, n::kAttnK), spec.hidden, kv_dim, linear_std(spec.hidden));
    matrix(n::block_tensor(l, n::kAttnV), spec.hidden, kv_dim, linear_std(spec.hidden));
    if (biases) {
      vector(n::block_tensor(l, n::kAttnQBias), q_dim, -0.5f, 0.5f);
      vector(n::block_tensor(l, n::kAttnKBias), kv_dim, -0.5f, 0.5f);
      vector(n::block_tensor(l, n::kAttnVBias), kv_dim, -0.5f, 0.5f);
    }
    if (qk_norms) {
      vector(n::block_tensor(l, n::kAttnQNorm), head_dim, 0.8f, 1.2f);
      vector(n::block_tensor(l, n::kAttnKNorm), head_dim, 0.8f, 1.2f);
    }
    matrix(n::block_tensor(l, n::kAttnOutput), q_dim, spec.hidden, linear_std(q_dim));
    norm(n::block_tensor(l, n::kFfnNorm));
    matrix(n::block_tensor(l, n::kFfnGate), spec.hidden, spec.ffn, linear_std(spec.hidden));
    matrix(n::block_tensor(l, n::kFfnUp), spec.hidden, spec.ffn, linear_std(spec.hidden));
    matrix(n::block_tensor(l, n::kFfnDown), spec.ffn, spec.hidden, linear_std(spec.ffn));
  }
  norm(std::string(n::kOutputNorm));
  if (!spec.tie_embeddings) {
    matrix(std::string(n::kOutput), spec.hidden, spec.vocab, linear_std(spec.hidden));
  }
  return writer.write(path);
}

}  // namespace sherry::gguf
