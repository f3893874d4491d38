#include "tiny_llama.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "core/half.h"
#include "core/reference_kernels.h"
#include "core/sparse_absmean.h"
#include "core/stq1_0.h"
#include "runtime/float_kernels.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/k_quants.h"
#include "runtime/rope.h"
#include "tests/common/k_quant_reference.h"

namespace sherry::runtime::testing {
namespace names = gguf::names;
namespace {

std::vector<float> random_matrix(std::mt19937& rng, int64_t count, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> out(count);
  for (float& v : out) v = dist(rng);
  return out;
}

std::vector<float> random_norm(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> dist(0.8f, 1.2f);
  std::vector<float> out(count);
  for (float& v : out) v = dist(rng);
  return out;
}

// A SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, then a few words.
void add_vocab(gguf::Writer& writer, int32_t eos_id, int64_t* vocab_size) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
  }
  for (const char* word : {"\xE2\x96\x81",
                           "\xE2\x96\x81the",
                           "\xE2\x96\x81"
                           "a",
                           "e",
                           "t",
                           "h",
                           "o",
                           "n",
                           "s",
                           "\xE2\x96\x81o",
                           "\xE2\x96\x81on",
                           "\xE2\x96\x81s",
                           "th",
                           "he",
                           "\xE2\x96\x81t",
                           "\xE2\x96\x81th",
                           "\xE2\x96\x81he",
                           "l",
                           "\xE2\x96\x81l",
                           "lo",
                           "\xE2\x96\x81hello",
                           "ell",
                           "el",
                           "llo",
                           "\xE2\x96\x81w",
                           "\xE2\x96\x81wor",
                           "or",
                           "ld",
                           "r",
                           "d",
                           "w",
                           "i",
                           "\xE2\x96\x81i",
                           "a"}) {
    tokens.push_back(word);
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    scores[i] = types[i] == 1 ? -static_cast<float>(i) : 0.0f;
  writer.set_string(std::string(names::kTokenizerModel), "llama");
  writer.set_string(std::string(names::kTokenizerPre), "default");
  writer.set_string_array(std::string(names::kTokenizerTokens), tokens);
  writer.set_float32_array(std::string(names::kTokenizerScores), scores);
  writer.set_int32_array(std::string(names::kTokenizerTokenType), types);
  writer.set_uint32(std::string(names::kTokenizerBosId), 1);
  writer.set_uint32(std::string(names::kTokenizerEosId), static_cast<uint32_t>(eos_id));
  writer.set_uint32(std::string(names::kTokenizerUnknownId), 0);
  *vocab_size = static_cast<int64_t>(tokens.size());
}

// Writes one linear layer in the spec's format and replaces `w` by the weights the model really
// uses (F16-rounded, or dequantized α·t).
void add_linear(gguf::Writer& writer, const std::string& name, std::vector<float>& w, int64_t rows,
                int64_t cols, LinearFormat format, const TinySpec& spec) {
  if (name == spec.drop_tensor) return;
  if (name == spec.q4_0_tensor) {
    const std::vector<uint8_t> bytes(static_cast<size_t>(rows * cols / 32 * 18), 0);
    writer.add_tensor(name, gguf::TensorType::kQ4_0, {cols, rows}, bytes);
    return;
  }
  switch (format) {
    case LinearFormat::kF32:
      gguf::add_float_tensor(writer, name, gguf::TensorType::kF32, {cols, rows}, w);
      return;
    case LinearFormat::kF16:
      for (float& v : w) v = round_to_fp16(v);
      gguf::add_float_tensor(writer, name, gguf::TensorType::kF16, {cols, rows}, w);
      return;
    case LinearFormat::kBF16:
      for (float& v : w) v = bf16_to_float(float_to_bf16(v));
      gguf::add_float_tensor(writer, name, gguf::TensorType::kBF16, {cols, rows}, w);
      return;
    case LinearFormat::kSherry: {
      auto packed = quantize_sparse_absmean(w.data(), rows, cols, WeightLayout{}, name);
      SHERRY_CHECK(packed.ok(), "{}", packed.ok() ? "" : packed.error().message());
      const Status status = gguf::add_sherry_tensor(writer, name, packed->view());
      SHERRY_CHECK(status.ok(), "{}", status.ok() ? "" : status.error().message());
      w = dequantize(packed->view());
      return;
    }
    case LinearFormat::kStq1_0: {
      auto packed =
          quantize_sparse_absmean(w.data(), rows, cols, stq1_0_layout(spec.stq1_0_grouping), name);
      SHERRY_CHECK(packed.ok(), "{}", packed.ok() ? "" : packed.error().message());
      if (spec.declare_stq1_0_grouping) {
        const Status status = gguf::add_stq1_0_tensor(writer, name, packed->view());
        SHERRY_CHECK(status.ok(), "{}", status.ok() ? "" : status.error().message());
      } else {  // the blocks alone, as a file that does not say its grouping
        auto blocks = pack_stq1_0(packed->view(), name);
        SHERRY_CHECK(blocks.ok(), "{}", blocks.ok() ? "" : blocks.error().message());
        writer.add_tensor(name, gguf::TensorType::kSTQ1_0, {cols, rows},
                          std::span(reinterpret_cast<const uint8_t*>(blocks->data()),
                                    blocks->size() * sizeof(Stq1_0Block)));
      }
      w = dequantize(packed->view());
      return;
    }
  }
}

// A [cols, rows] matrix as F32 or as a K-quant: the runtime's quantizer writes the blocks, the
// test's decoder (not the runtime's) gives the values the model computes with, which replace
// `values`.
void add_matrix(gguf::Writer& writer, const std::string& name, std::vector<float>& values,
                int64_t rows, int64_t cols, gguf::TensorType type) {
  using gguf::TensorType;
  if (type == TensorType::kF32) {
    gguf::add_float_tensor(writer, name, TensorType::kF32, {cols, rows}, values);
    return;
  }
  const test::KType k = type == TensorType::kQ4_K   ? test::KType::kQ4_K
                        : type == TensorType::kQ5_K ? test::KType::kQ5_K
                                                    : test::KType::kQ6_K;
  SHERRY_CHECK(type == TensorType::kQ4_K || type == TensorType::kQ5_K || type == TensorType::kQ6_K,
               "tiny llama: matrix type {}", gguf::tensor_type_name(type));
  SHERRY_CHECK(cols % 256 == 0, "tiny llama: K-quant rows of {}", cols);
  const int64_t blocks = cols / 256;
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * blocks * test::k_block_bytes(k)));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* out = bytes.data() + r * blocks * test::k_block_bytes(k);
    const float* in = values.data() + r * cols;
    if (k == test::KType::kQ4_K) quantize_row_q4_k(in, cols, reinterpret_cast<Q4_KBlock*>(out));
    if (k == test::KType::kQ5_K) quantize_row_q5_k(in, cols, reinterpret_cast<Q5_KBlock*>(out));
    if (k == test::KType::kQ6_K) quantize_row_q6_k(in, cols, reinterpret_cast<Q6_KBlock*>(out));
  }
  values = test::decode_k_blocks(k, bytes.data(), rows * blocks);
  writer.add_tensor(name, type, {cols, rows}, bytes);
}

}  // namespace

TinyWeights write_tiny_llama(const std::string& path, const TinySpec& spec) {
  std::mt19937 rng(spec.seed);
  gguf::Writer writer;
  writer.set_string(std::string(names::kArchitecture), spec.architecture);
  writer.set_string(std::string(names::kName), "tiny-test");
  TinyWeights w;
  w.spec = spec;
  add_vocab(writer, spec.eos_id, &w.vocab);
  if (spec.tokenizer_model.empty()) {
    gguf::Writer bare;  // same metadata minus the tokenizer
    bare.set_string(std::string(names::kArchitecture), spec.architecture);
    writer = std::move(bare);
  } else {
    writer.set_string(std::string(names::kTokenizerModel), spec.tokenizer_model);
  }
  if (!spec.chat_template.empty()) {
    writer.set_string(std::string(names::kTokenizerChatTemplate), spec.chat_template);
  }
  if (spec.chat_template_not_string) {
    writer.set_uint32(std::string(names::kTokenizerChatTemplate), 7);
  }
  auto key = [&](std::string_view llama_key) {
    return names::arch_key(spec.architecture, llama_key);
  };
  writer.set_uint32(key(names::kBlockCount), spec.layers);
  writer.set_uint32(key(names::kEmbeddingLength), spec.hidden);
  writer.set_uint32(key(names::kFeedForwardLength),
                    spec.metadata_ffn != 0 ? spec.metadata_ffn : spec.ffn);
  writer.set_uint32(key(names::kHeadCount), spec.heads);
  writer.set_uint32(key(names::kHeadCountKv),
                    spec.metadata_kv_heads != 0 ? spec.metadata_kv_heads : spec.kv_heads);
  if (spec.head_dim != 0) writer.set_uint32(key(names::kKeyLength), spec.head_dim);
  writer.set_uint32(key(names::kContextLength), spec.context);
  writer.set_uint32(key(names::kVocabSize), w.vocab);
  writer.set_float32(key(names::kRopeFreqBase), spec.rope_base);
  writer.set_float32(key(names::kLayerNormRmsEpsilon), 1e-5f);
  if (spec.rope_alpha != 0.0f) writer.set_float32(key(names::kRopeScalingAlpha), spec.rope_alpha);
  if (spec.llama3_rope) {
    writer.set_string(key(names::kRopeScalingType), "llama3");
    writer.set_float32(key(names::kRopeScalingFactor), 8.0f);
    writer.set_float32(key(names::kRopeScalingLowFreqFactor), 1.0f);
    writer.set_float32(key(names::kRopeScalingHighFreqFactor), 4.0f);
    writer.set_uint32(key(names::kRopeScalingOriginalContextLength), 32);
  }

  const int64_t h = spec.hidden;
  const int64_t hd = spec.head_dim != 0 ? spec.head_dim : h / spec.heads;
  const int64_t qd = spec.heads * hd;
  const int64_t kv = spec.kv_heads * hd;
  const bool biases = spec.architecture == "qwen2";
  const bool qk_norms = spec.architecture == "qwen3" || spec.architecture == "hunyuan-dense";
  const float s = 1.0f / std::sqrt(static_cast<float>(h));
  w.embedding = random_matrix(rng, w.vocab * h, 1.0f);
  add_matrix(writer, std::string(names::kTokenEmbedding), w.embedding, w.vocab, h,
             spec.embedding_type);
  for (int64_t l = 0; l < spec.layers; ++l) {
    TinyWeights::Layer L;
    L.attn_norm = random_norm(rng, h);
    L.ffn_norm = random_norm(rng, h);
    L.q = random_matrix(rng, qd * h, s);
    L.k = random_matrix(rng, kv * h, s);
    L.v = random_matrix(rng, kv * h, s);
    L.o = random_matrix(rng, h * qd, 1.0f / std::sqrt(static_cast<float>(qd)));
    L.gate = random_matrix(rng, spec.ffn * h, s);
    L.up = random_matrix(rng, spec.ffn * h, s);
    L.down = random_matrix(rng, h * spec.ffn, 1.0f / std::sqrt(static_cast<float>(spec.ffn)));
    auto name = [&](std::string_view suffix) { return names::block_tensor(l, suffix); };
    if (name(names::kAttnNorm) != spec.drop_tensor) {
      gguf::add_float_tensor(writer, name(names::kAttnNorm), gguf::TensorType::kF32, {h},
                             L.attn_norm);
    }
    gguf::add_float_tensor(writer, name(names::kFfnNorm), gguf::TensorType::kF32, {h}, L.ffn_norm);
    add_linear(writer, name(names::kAttnQ), L.q, qd, h, spec.format, spec);
    add_linear(writer, name(names::kAttnK), L.k, kv, h, spec.format, spec);
    add_linear(writer, name(names::kAttnV), L.v, kv, h, spec.format, spec);
    add_linear(writer, name(names::kAttnOutput), L.o, h, qd, spec.format, spec);
    auto vector = [&](std::string_view suffix, std::vector<float> values) {
      if (name(suffix) != spec.drop_tensor) {
        gguf::add_float_tensor(writer, name(suffix), gguf::TensorType::kF32,
                               {static_cast<int64_t>(values.size())}, values);
      }
      return values;
    };
    if (biases) {
      L.q_bias = vector(names::kAttnQBias, random_matrix(rng, qd, 0.5f));
      L.k_bias = vector(names::kAttnKBias, random_matrix(rng, kv, 0.5f));
      L.v_bias = vector(names::kAttnVBias, random_matrix(rng, kv, 0.5f));
    }
    if (qk_norms) {
      L.q_norm = vector(names::kAttnQNorm, random_norm(rng, hd));
      L.k_norm = vector(names::kAttnKNorm, random_norm(rng, hd));
    }
    add_linear(writer, name(names::kFfnGate), L.gate, spec.ffn, h, spec.format, spec);
    add_linear(writer, name(names::kFfnUp), L.up, spec.ffn, h, spec.format, spec);
    add_linear(writer, name(names::kFfnDown), L.down, h, spec.ffn, spec.format, spec);
    w.layers.push_back(std::move(L));
  }
  w.output_norm = random_norm(rng, h);
  if (spec.zero_output_norm) std::fill(w.output_norm.begin(), w.output_norm.end(), 0.0f);
  gguf::add_float_tensor(writer, std::string(names::kOutputNorm), gguf::TensorType::kF32, {h},
                         w.output_norm);
  if (spec.tied_output) {
    w.output = w.embedding;
  } else {
    w.output = random_matrix(rng, w.vocab * h, s);
    if (spec.q8_0_output) {
      const std::vector<uint8_t> bytes = q8_0_by_hand(w.output, h);
      writer.add_tensor(std::string(names::kOutput), gguf::TensorType::kQ8_0, {h, w.vocab}, bytes);
    } else {
      add_matrix(writer, std::string(names::kOutput), w.output, w.vocab, h, spec.output_type);
    }
  }
  const Status status = writer.write(path);
  SHERRY_CHECK(status.ok(), "{}", status.ok() ? "" : status.error().message());
  return w;
}

namespace {

// y[r] = Σ_c w[r][c] x[c], in double.
std::vector<double> matvec(const std::vector<float>& w, const std::vector<double>& x,
                           int64_t rows) {
  const auto cols = static_cast<int64_t>(x.size());
  std::vector<double> y(rows, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) y[r] += static_cast<double>(w[r * cols + c]) * x[c];
  }
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<float>& w) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-5);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
  return y;
}

// Each head of v (hd wide) RMS-normalised with the gains w (hd).
void rmsnorm_heads(std::vector<double>& v, const std::vector<float>& w, int64_t hd) {
  for (size_t head = 0; head < v.size() / hd; ++head) {
    const std::vector<double> one(v.begin() + head * hd, v.begin() + (head + 1) * hd);
    const std::vector<double> normed = rmsnorm(one, w);
    std::copy(normed.begin(), normed.end(), v.begin() + head * hd);
  }
}

void add(std::vector<double>& x, const std::vector<float>& bias) {
  for (size_t i = 0; i < bias.size(); ++i) x[i] += bias[i];
}

}  // namespace

std::vector<uint8_t> q8_0_by_hand(std::vector<float>& values, int64_t cols) {
  constexpr int64_t kBlock = 32;
  constexpr int64_t kBlockBytes = 2 + kBlock;
  SHERRY_CHECK(cols % kBlock == 0 && values.size() % cols == 0, "q8_0: {} values of rows of {}",
               values.size(), cols);
  const auto blocks = static_cast<int64_t>(values.size()) / kBlock;
  std::vector<uint8_t> bytes(blocks * kBlockBytes);
  for (int64_t b = 0; b < blocks; ++b) {
    float* x = values.data() + b * kBlock;
    uint8_t* block = bytes.data() + b * kBlockBytes;
    float amax = 0.0f;
    for (int64_t i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t d_bits = float_to_fp16(d);
    block[0] = static_cast<uint8_t>(d_bits & 0xff);
    block[1] = static_cast<uint8_t>(d_bits >> 8);
    const float stored_d = fp16_to_float(d_bits);
    for (int64_t i = 0; i < kBlock; ++i) {
      const auto q = static_cast<int8_t>(std::lround(x[i] * inverse));
      block[2 + i] = static_cast<uint8_t>(q);
      x[i] = stored_d * static_cast<float>(q);
    }
  }
  return bytes;
}

std::vector<float> naive_forward(const TinyWeights& w, const std::vector<int32_t>& tokens,
                                 std::vector<double>* head_input) {
  const TinySpec& s = w.spec;
  const int64_t h = s.hidden;
  const int64_t hd = s.head_dim != 0 ? s.head_dim : h / s.heads;
  const int64_t qd = s.heads * hd;
  const int64_t kv = s.kv_heads * hd;
  const auto n = static_cast<int64_t>(tokens.size());
  // Hugging Face's rotate_half pairs (i, i + hd/2) for the NEOX architectures, llama.cpp's
  // permuted-weight pairs (2i, 2i + 1) for llama.
  const bool neox = s.architecture != "llama";
  RopeConfig rope;
  rope.dims = hd;
  rope.freq_base = s.rope_base;
  if (s.rope_alpha != 0.0f) {  // HunYuan's NTK alpha
    rope.freq_base = static_cast<float>(s.rope_base * std::pow(static_cast<double>(s.rope_alpha),
                                                               static_cast<double>(hd) / (hd - 2)));
  }
  if (s.llama3_rope) {
    rope.scaling = RopeScaling::kLlama3;
    rope.factor = 8.0f;
    rope.original_context = 32;
  }
  const std::vector<float> theta = rope_frequencies(rope);

  std::vector<std::vector<double>> x(n);
  for (int64_t t = 0; t < n; ++t) {
    x[t].assign(w.embedding.begin() + tokens[t] * h, w.embedding.begin() + (tokens[t] + 1) * h);
  }
  auto rotate = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
    for (int64_t head = 0; head < heads; ++head) {
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double angle = static_cast<double>(pos) * theta[i];
        double& a = v[head * hd + (neox ? i : 2 * i)];
        double& b = v[head * hd + (neox ? i + hd / 2 : 2 * i + 1)];
        const double a0 = a;
        a = a0 * std::cos(angle) - b * std::sin(angle);
        b = a0 * std::sin(angle) + b * std::cos(angle);
      }
    }
  };
  for (const TinyWeights::Layer& L : w.layers) {
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (int64_t t = 0; t < n; ++t) {
      const auto xn = rmsnorm(x[t], L.attn_norm);
      q[t] = matvec(L.q, xn, qd);
      k[t] = matvec(L.k, xn, kv);
      v[t] = matvec(L.v, xn, kv);
      add(q[t], L.q_bias);
      add(k[t], L.k_bias);
      add(v[t], L.v_bias);
      if (s.architecture == "qwen3") {
        rmsnorm_heads(q[t], L.q_norm, hd);
        rmsnorm_heads(k[t], L.k_norm, hd);
      }
      rotate(q[t], s.heads, t);
      rotate(k[t], s.kv_heads, t);
      if (s.architecture == "hunyuan-dense") {
        rmsnorm_heads(q[t], L.q_norm, hd);
        rmsnorm_heads(k[t], L.k_norm, hd);
      }
    }
    for (int64_t t = 0; t < n; ++t) {
      std::vector<double> att(qd, 0.0);
      for (int64_t head = 0; head < s.heads; ++head) {
        const int64_t g = head / (s.heads / s.kv_heads);
        std::vector<double> scores(t + 1);
        double max = -1e300;
        for (int64_t p = 0; p <= t; ++p) {
          double dotp = 0;
          for (int64_t i = 0; i < hd; ++i) dotp += q[t][head * hd + i] * k[p][g * hd + i];
          scores[p] = dotp / std::sqrt(static_cast<double>(hd));
          max = std::max(max, scores[p]);
        }
        double sum = 0;
        for (double& sc : scores) sum += (sc = std::exp(sc - max));
        for (int64_t p = 0; p <= t; ++p) {
          for (int64_t i = 0; i < hd; ++i) att[head * hd + i] += scores[p] / sum * v[p][g * hd + i];
        }
      }
      const auto o = matvec(L.o, att, h);
      for (int64_t i = 0; i < h; ++i) x[t][i] += o[i];
      const auto xn = rmsnorm(x[t], L.ffn_norm);
      const auto gate = matvec(L.gate, xn, s.ffn);
      const auto up = matvec(L.up, xn, s.ffn);
      std::vector<double> act(s.ffn);
      for (int64_t i = 0; i < s.ffn; ++i) act[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
      const auto down = matvec(L.down, act, h);
      for (int64_t i = 0; i < h; ++i) x[t][i] += down[i];
    }
  }
  std::vector<float> logits(n * w.vocab);
  if (head_input != nullptr) head_input->clear();
  for (int64_t t = 0; t < n; ++t) {
    const auto xn = rmsnorm(x[t], w.output_norm);
    if (head_input != nullptr) head_input->insert(head_input->end(), xn.begin(), xn.end());
    const auto y = matvec(w.output, xn, w.vocab);
    for (int64_t i = 0; i < w.vocab; ++i) logits[t * w.vocab + i] = static_cast<float>(y[i]);
  }
  return logits;
}

std::vector<int32_t> sample_tokens(int64_t count, int64_t vocab, uint32_t seed) {
  std::vector<int32_t> tokens;
  uint32_t state = seed;
  for (int64_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    tokens.push_back(static_cast<int32_t>((state >> 8) % vocab));
  }
  return tokens;
}

double relative_error(std::span<const float> a, std::span<const float> b) {
  SHERRY_CHECK(a.size() == b.size(), "{} against {} values", a.size(), b.size());
  double diff = 0;
  double scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

std::string temp_path(const std::string& name) {
  // One folder per test process, removed when the process exits.
  struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 fmt::format("sherry_test_runtime_{}", static_cast<long>(getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Folder folder;
  return (folder.path / name).string();
}

}  // namespace sherry::runtime::testing
