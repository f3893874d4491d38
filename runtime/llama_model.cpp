#include "runtime/llama_model.h"

#include <algorithm>
#include <chrono>
#include <tuple>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/rope.h"

namespace sherry::runtime {
namespace names = gguf::names;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Adds the time from construction to the next lap() into a counter.
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  void lap(double& counter) {
    const auto now = Clock::now();
    counter += std::chrono::duration<double>(now - start_).count();
    start_ = now;
  }

 private:
  Clock::time_point start_;
};

// A norm weight: [n] floats of a float type.
Result<std::vector<float>> load_norm(const gguf::Reader& reader, std::string_view name, int64_t n) {
  using gguf::TensorType;
  auto info =
      reader.require_tensor(name, {n}, {TensorType::kF32, TensorType::kF16, TensorType::kBF16});
  if (!info) return info.error();
  return gguf::read_float_tensor(reader, **info);
}

// An optional vector of n floats (a bias): empty when the file has no such tensor.
Result<std::vector<float>> load_optional_vector(const gguf::Reader& reader, std::string_view name,
                                                int64_t n) {
  if (reader.find_tensor(name) == nullptr) return std::vector<float>();
  return load_norm(reader, name, n);
}

// x (n × width) += bias for each of the n rows; nothing when the bias is empty.
void add_bias(const std::vector<float>& bias, int64_t n, float* x) {
  const auto width = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < width; ++i) x[t * width + i] += bias[i];
  }
}

std::unique_ptr<float[]> scratch(int64_t count) {
  return std::unique_ptr<float[]>(new float[count]);
}

QuantizedActivations quantized_scratch(int64_t tokens, int64_t cols) {
  QuantizedActivations q;
  q.tokens = tokens;
  q.cols = cols;
  q.values.resize(tokens * cols);
  q.scales.resize(tokens);
  return q;
}

}  // namespace

LlamaModel::~LlamaModel() = default;

Result<std::unique_ptr<LlamaModel>> LlamaModel::load(const std::string& path,
                                                     const ModelOptions& options) {
  const auto start = Clock::now();
  std::unique_ptr<LlamaModel> model(new LlamaModel());
  auto reader = gguf::Reader::open(path);
  if (!reader) return reader.error();
  model->reader_ = std::move(*reader);
  const gguf::Reader& r = *model->reader_;

  auto config = read_llama_config(r);
  if (!config) return config.error();
  model->config_ = *config;

  if (r.find(names::kTokenizerModel) != nullptr) {
    auto vocab = load_vocab(r);
    if (!vocab) return vocab.error();
    auto tokenizer = Tokenizer::create(std::move(*vocab), path);
    if (!tokenizer) return tokenizer.error();
    if (tokenizer->size() > model->config_.vocab) {
      return make_error(
          "{}: key '{}': expected at most {} tokens (the model's vocabulary), found {}", path,
          names::kTokenizerTokens, model->config_.vocab, tokenizer->size());
    }
    model->tokenizer_ = std::make_unique<Tokenizer>(std::move(*tokenizer));
  } else if (options.need_tokenizer) {
    return make_error("{}: key '{}': expected a tokenizer in the model file, found no such key",
                      path, names::kTokenizerModel);
  }

  if (options.context < 0 || options.batch < 1 || options.threads < 0) {
    return make_error(
        "{}: options: expected context >= 0, batch >= 1 and threads >= 0, found {}, "
        "{} and {}",
        path, options.context, options.batch, options.threads);
  }
  model->pool_ = std::make_unique<ThreadPool>(options.threads);
  SHERRY_TRY(model->load_weights(r, options));
  model->allocate(options);
  model->stats_.load_seconds = seconds_since(start);
  return model;
}

Status LlamaModel::load_weights(const gguf::Reader& r, const ModelOptions& options) {
  using gguf::TensorType;
  const LlamaConfig& c = config_;
  auto embd =
      r.require_tensor(names::kTokenEmbedding, {c.hidden, c.vocab},
                       {TensorType::kF32, TensorType::kF16, TensorType::kBF16, TensorType::kQ8_0});
  if (!embd) return embd.error();
  // require_tensor admitted only float types.
  embedding_ = {float_type_of((*embd)->type).value(), c.vocab, c.hidden, (*embd)->data};

  batch_ = options.batch;
  auto grouping = gguf::stq1_0_grouping(r, options.stq1_0_grouping);
  if (!grouping) return grouping.error();
  LinearLoadOptions lo;
  lo.stq1_0_grouping = *grouping;
  lo.backend = options.backend;
  lo.max_tokens = batch_;
  lo.pool = pool_.get();
  lo.jit_seconds = &stats_.jit_seconds;
  auto linear = [&](int64_t layer, std::string_view suffix, int64_t rows, int64_t cols) {
    return LinearLayer::load(r, names::block_tensor(layer, suffix), rows, cols, lo);
  };

  layers_.reserve(c.layers);
  for (int64_t l = 0; l < c.layers; ++l) {
    auto attn_norm = load_norm(r, names::block_tensor(l, names::kAttnNorm), c.hidden);
    if (!attn_norm) return attn_norm.error();
    auto ffn_norm = load_norm(r, names::block_tensor(l, names::kFfnNorm), c.hidden);
    if (!ffn_norm) return ffn_norm.error();
    auto q = linear(l, names::kAttnQ, c.q_dim(), c.hidden);
    if (!q) return q.error();
    auto k = linear(l, names::kAttnK, c.kv_dim(), c.hidden);
    if (!k) return k.error();
    auto v = linear(l, names::kAttnV, c.kv_dim(), c.hidden);
    if (!v) return v.error();
    auto o = linear(l, names::kAttnOutput, c.hidden, c.q_dim());
    if (!o) return o.error();
    auto gate = linear(l, names::kFfnGate, c.ffn, c.hidden);
    if (!gate) return gate.error();
    auto up = linear(l, names::kFfnUp, c.ffn, c.hidden);
    if (!up) return up.error();
    auto down = linear(l, names::kFfnDown, c.hidden, c.ffn);
    if (!down) return down.error();
    Layer layer{std::move(*attn_norm), std::move(*ffn_norm), std::move(*q),
                std::move(*k),         std::move(*v),        std::move(*o),
                std::move(*gate),      std::move(*up),       std::move(*down)};
    for (auto [bias, suffix, n] : {std::tuple(&layer.q_bias, names::kAttnQBias, c.q_dim()),
                                   std::tuple(&layer.k_bias, names::kAttnKBias, c.kv_dim()),
                                   std::tuple(&layer.v_bias, names::kAttnVBias, c.kv_dim())}) {
      auto values = load_optional_vector(r, names::block_tensor(l, suffix), n);
      if (!values) return values.error();
      *bias = std::move(*values);
    }
    if (c.qk_norm != QkNorm::kNone) {
      auto q_norm = load_norm(r, names::block_tensor(l, names::kAttnQNorm), c.head_dim);
      if (!q_norm) return q_norm.error();
      auto k_norm = load_norm(r, names::block_tensor(l, names::kAttnKNorm), c.head_dim);
      if (!k_norm) return k_norm.error();
      layer.q_norm = std::move(*q_norm);
      layer.k_norm = std::move(*k_norm);
    }
    layers_.push_back(std::move(layer));
  }

  auto output_norm = load_norm(r, names::kOutputNorm, c.hidden);
  if (!output_norm) return output_norm.error();
  output_norm_ = std::move(*output_norm);
  const bool tied = r.find_tensor(names::kOutput) == nullptr;
  if (!tied) {
    auto output = LinearLayer::load(r, std::string(names::kOutput), c.vocab, c.hidden, lo);
    if (!output) return output.error();
    output_ = std::make_unique<LinearLayer>(std::move(*output));
  } else {
    output_ = std::make_unique<LinearLayer>(LinearLayer::from_float(embedding_, pool_.get()));
  }
  if (options.head_q8_0) {
    const auto start = Clock::now();
    output_->repack_q8_0(/*release_source=*/!tied);  // a tied head's rows are still looked up
    stats_.jit_seconds += seconds_since(start);
  }

  // Llama 3.1 files carry the frequency factors as a tensor (llama.cpp's converter).
  std::vector<float> factors;
  if (r.find_tensor(names::kRopeFreqs) != nullptr) {
    auto info = r.require_tensor(names::kRopeFreqs, {c.rope.dims / 2}, {TensorType::kF32});
    if (!info) return info.error();
    auto values = gguf::read_float_tensor(r, **info);
    if (!values) return values.error();
    factors = std::move(*values);
  }
  rope_theta_ = rope_frequencies(c.rope, factors.empty() ? nullptr : factors.data());

  stats_.kernel = layers_.empty() ? output_->kernel_name() : layers_[0].q.kernel_name();
  stats_.head_kernel = output_->kernel_name();
  return Status::success();
}

void LlamaModel::allocate(const ModelOptions& options) {
  const LlamaConfig& c = config_;
  const int64_t context = options.context > 0 ? options.context : c.context;
  cache_ = std::make_unique<KvCache>(c.layers, context, c.kv_dim(), options.kv_type);
  attention_shape_ = {c.heads, c.kv_heads, c.head_dim};
  const int64_t b = batch_;
  x_ = scratch(b * c.hidden);
  xn_ = scratch(b * c.hidden);
  q_ = scratch(b * c.q_dim());
  k_ = scratch(b * c.kv_dim());
  v_ = scratch(b * c.kv_dim());
  att_ = scratch(b * c.q_dim());
  proj_ = scratch(b * c.hidden);
  gate_ = scratch(b * c.ffn);
  up_ = scratch(b * c.ffn);
  logits_ = scratch(b * c.vocab);
  rope_ = scratch(b * c.rope.dims);
  scores_ = scratch(static_cast<int64_t>(pool_->size()) * context);
  qx_hidden_ = quantized_scratch(b, c.hidden);
  qx_att_ = quantized_scratch(b, c.q_dim());
  qx_ffn_ = quantized_scratch(b, c.ffn);
}

int64_t LlamaModel::linear_weight_bytes() const {
  int64_t bytes = output_->weight_bytes();
  for (const Layer& L : layers_) {
    for (const LinearLayer* layer : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
      bytes += layer->weight_bytes();
    }
  }
  return bytes;
}

void LlamaModel::embed(int32_t token, float* out) const {
  embedding_.row_to_float(token, out);
}

Result<std::span<const float>> LlamaModel::forward(std::span<const int32_t> tokens,
                                                   int64_t position, bool all_logits) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return make_error("forward: expected at least one token, found none");
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= config_.vocab) {
      return make_error("forward: token {}: expected an id in [0, {}), found {}", t, config_.vocab,
                        tokens[t]);
    }
  }
  if (position < 0 || position + n > context()) {
    return make_error(
        "forward: positions {}..{}: expected them within the context of {} tokens "
        "(raise it with -c)",
        position, position + n - 1, context());
  }
  if (all_logits && n > batch_) {
    return make_error("forward: all logits of {} tokens: expected at most the batch size {}", n,
                      batch_);
  }
  for (int64_t done = 0; done < n; done += batch_) {
    const int64_t count = std::min(batch_, n - done);
    forward_batch(tokens.data() + done, count, position + done, all_logits);
  }
  const int64_t rows = all_logits ? n : 1;
  return std::span<const float>(logits_.get(), rows * config_.vocab);
}

void LlamaModel::forward_batch(const int32_t* tokens, int64_t n, int64_t position,
                               bool all_logits) {
  const LlamaConfig& c = config_;
  const int64_t H = c.hidden;
  const int64_t Q = c.q_dim();
  const int64_t KV = c.kv_dim();
  const int64_t F = c.ffn;
  const int64_t rd = c.rope.dims;
  ThreadPool* pool = pool_.get();
  ForwardProfile& prof = profile_;
  Stopwatch watch;

  // Runs `layer` on x (n × cols); quantized layers share one quantization of x per group.
  auto run = [n](LinearLayer& layer, const float* x, QuantizedActivations& qx, bool& quantized,
                 float* y) {
    if (!layer.quantized()) return layer.forward(x, n, y);
    if (!quantized) {
      quantize_into(x, n, layer.cols(), qx);
      quantized = true;
    }
    layer.forward_quantized(qx, y);
  };

  for (int64_t t = 0; t < n; ++t) {
    embed(tokens[t], x_.get() + t * H);
    rope_table(rope_theta_, position + t, rope_.get() + t * rd);
  }
  watch.lap(prof.other);

  for (int64_t l = 0; l < c.layers; ++l) {
    Layer& L = layers_[l];
    for (int64_t t = 0; t < n; ++t) {
      rms_norm(x_.get() + t * H, L.attn_norm.data(), H, c.rms_eps, xn_.get() + t * H);
    }
    bool quantized = false;
    run(L.q, xn_.get(), qx_hidden_, quantized, q_.get());
    run(L.k, xn_.get(), qx_hidden_, quantized, k_.get());
    run(L.v, xn_.get(), qx_hidden_, quantized, v_.get());
    watch.lap(prof.linear);
    add_bias(L.q_bias, n, q_.get());
    add_bias(L.k_bias, n, k_.get());
    add_bias(L.v_bias, n, v_.get());

    // Per-head RMSNorm of q and k (with the norm gains of one head).
    auto norm_heads = [&](float* q, float* k) {
      for (int64_t h = 0; h < c.heads; ++h) {
        float* head = q + h * c.head_dim;
        rms_norm(head, L.q_norm.data(), c.head_dim, c.rms_eps, head);
      }
      for (int64_t h = 0; h < c.kv_heads; ++h) {
        float* head = k + h * c.head_dim;
        rms_norm(head, L.k_norm.data(), c.head_dim, c.rms_eps, head);
      }
    };
    for (int64_t t = 0; t < n; ++t) {
      float* q = q_.get() + t * Q;
      float* k = k_.get() + t * KV;
      const float* table = rope_.get() + t * rd;
      if (c.qk_norm == QkNorm::kBeforeRope) norm_heads(q, k);
      apply_rope(q, c.heads, c.head_dim, rd, table, c.rope.style);
      apply_rope(k, c.kv_heads, c.head_dim, rd, table, c.rope.style);
      if (c.qk_norm == QkNorm::kAfterRope) norm_heads(q, k);
      cache_->store(l, position + t, k, v_.get() + t * KV);
    }
    watch.lap(prof.other);
    attention(attention_shape_, q_.get(), *cache_, l, position, n, att_.get(), scores_.get(), pool);
    watch.lap(prof.attention);

    quantized = false;
    run(L.o, att_.get(), qx_att_, quantized, proj_.get());
    watch.lap(prof.linear);
    for (int64_t i = 0; i < n * H; ++i) x_[i] += proj_[i];
    for (int64_t t = 0; t < n; ++t) {
      rms_norm(x_.get() + t * H, L.ffn_norm.data(), H, c.rms_eps, xn_.get() + t * H);
    }
    watch.lap(prof.other);

    quantized = false;
    run(L.gate, xn_.get(), qx_hidden_, quantized, gate_.get());
    run(L.up, xn_.get(), qx_hidden_, quantized, up_.get());
    watch.lap(prof.linear);
    swiglu(gate_.get(), up_.get(), n * F, gate_.get());
    watch.lap(prof.other);
    quantized = false;
    run(L.down, gate_.get(), qx_ffn_, quantized, proj_.get());
    watch.lap(prof.linear);
    for (int64_t i = 0; i < n * H; ++i) x_[i] += proj_[i];
    watch.lap(prof.other);
  }

  // Final norm and LM head, only for the tokens whose logits are wanted.
  const int64_t first = all_logits ? 0 : n - 1;
  for (int64_t t = first; t < n; ++t) {
    rms_norm(x_.get() + t * H, output_norm_.data(), H, c.rms_eps, xn_.get() + (t - first) * H);
  }
  watch.lap(prof.other);
  const int64_t rows = n - first;
  if (output_->quantized()) {
    quantize_into(xn_.get(), rows, H, qx_hidden_);
    output_->forward_quantized(qx_hidden_, logits_.get());
  } else {
    output_->forward(xn_.get(), rows, logits_.get());
  }
  watch.lap(prof.linear);
  prof.tokens += n;
}

std::vector<int32_t> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text,
                                     bool parse_special) {
  return tokenizer.encode(text, /*add_special=*/true, parse_special);
}

}  // namespace sherry::runtime
