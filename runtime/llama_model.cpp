#include "runtime/llama_model.h"

#include <algorithm>
#include <chrono>
#include <span>
#include <tuple>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

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

// Adds the time since the previous lap (or construction) to a phase of the profile.
class Stopwatch {
 public:
  explicit Stopwatch(ForwardProfile& profile) : profile_(profile), start_(Clock::now()) {}
  void lap(ForwardPhase phase) {
    const auto now = Clock::now();
    profile_.seconds[static_cast<size_t>(phase)] +=
        std::chrono::duration<double>(now - start_).count();
    start_ = now;
  }

 private:
  ForwardProfile& profile_;
  Clock::time_point start_;
};

// f(t) for every token t < n, split over the pool's threads (one dispatch; a single token runs
// on the caller).
template <class F>
void for_each_token(ThreadPool* pool, int64_t n, const F& f) {
  auto body = [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) f(t);
  };
  if (n == 1 || pool->size() == 1) {
    body(0, n, 0);
  } else {
    pool->parallel_for(n, 1, body);
  }
}

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

// One token's x (width) += bias; nothing when the bias is empty.
void add_bias(const std::vector<float>& bias, float* x) {
  for (size_t i = 0; i < bias.size(); ++i) x[i] += bias[i];
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

  if (options.context < 0 || options.batch < 1 || options.threads < 0 || options.sequences < 1) {
    return make_error(
        "{}: options: expected context >= 0, batch >= 1, threads >= 0 and sequences >= 1, "
        "found {}, {}, {} and {}",
        path, options.context, options.batch, options.threads, options.sequences);
  }
  model->pool_ = std::make_unique<ThreadPool>(options.threads);
  SHERRY_TRY(model->load_weights(r, options));
  model->allocate(options);
#if defined(__GLIBC__)
  // Loading freed the stacked and repacked temporaries (~the Sherry weights' size again) in the
  // middle of the heap, where glibc keeps them as resident memory: hand them back.
  malloc_trim(0);
#endif
  model->stats_.load_seconds = seconds_since(start);
  return model;
}

Status LlamaModel::load_weights(const gguf::Reader& r, const ModelOptions& options) {
  using gguf::TensorType;
  const LlamaConfig& c = config_;
  auto embd =
      r.require_tensor(names::kTokenEmbedding, {c.hidden, c.vocab},
                       {TensorType::kF32, TensorType::kF16, TensorType::kBF16, TensorType::kQ8_0,
                        TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K});
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
  // The layers run one after another: one set of call buffers serves them all.
  lo.call_buffers = std::make_shared<jit::CallBuffers>();
  auto linear = [&](int64_t layer, std::string_view suffix, int64_t rows, int64_t cols) {
    return LinearLayer::load(r, names::block_tensor(layer, suffix), rows, cols, lo);
  };
  // q, k, v and gate, up read one input each: stacked into one matrix where their weights allow.
  auto group = [&](int64_t layer, std::span<const std::string_view> suffixes,
                   std::initializer_list<int64_t> rows, int64_t cols) {
    SHERRY_CHECK(rows.size() == suffixes.size());
    std::vector<LinearGroup::Member> members;
    for (size_t i = 0; i < suffixes.size(); ++i) {
      members.push_back({names::block_tensor(layer, suffixes[i]), rows.begin()[i]});
    }
    return LinearGroup::load(r, members, cols, lo);
  };

  layers_.reserve(c.layers);
  for (int64_t l = 0; l < c.layers; ++l) {
    auto attn_norm = load_norm(r, names::block_tensor(l, names::kAttnNorm), c.hidden);
    if (!attn_norm) return attn_norm.error();
    auto ffn_norm = load_norm(r, names::block_tensor(l, names::kFfnNorm), c.hidden);
    if (!ffn_norm) return ffn_norm.error();
    auto qkv = group(l, names::kAttnQkv, {c.q_dim(), c.kv_dim(), c.kv_dim()}, c.hidden);
    if (!qkv) return qkv.error();
    auto o = linear(l, names::kAttnOutput, c.hidden, c.q_dim());
    if (!o) return o.error();
    auto gate_up = group(l, names::kFfnGateUp, {c.ffn, c.ffn}, c.hidden);
    if (!gate_up) return gate_up.error();
    auto down = linear(l, names::kFfnDown, c.hidden, c.ffn);
    if (!down) return down.error();
    Layer layer{std::move(*attn_norm), std::move(*ffn_norm), std::move(*qkv),
                std::move(*o),         std::move(*gate_up),  std::move(*down)};
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
    output_ =
        std::make_unique<LinearLayer>(LinearLayer::from_float(embedding_, pool_.get(), batch_));
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

  stats_.kernel = layers_.empty() ? output_->kernel_name() : layers_[0].qkv.kernel_name();
  stats_.head_kernel = output_->kernel_name();
  return Status::success();
}

void LlamaModel::allocate(const ModelOptions& options) {
  const LlamaConfig& c = config_;
  const int64_t context = options.context > 0 ? options.context : c.context;
  for (int64_t s = 0; s < options.sequences; ++s) {
    caches_.push_back(std::make_unique<KvCache>(c.layers, context, c.kv_dim(), options.kv_type));
  }
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
  batch_tokens_ = std::make_unique<BatchToken[]>(b);
  queries_ = std::make_unique<AttentionQuery[]>(b);
  logit_rows_ = std::make_unique<int64_t[]>(b);
  last_position_ = std::make_unique<int64_t[]>(options.sequences);
  qx_hidden_ = quantized_scratch(b, c.hidden);
  qx_att_ = quantized_scratch(b, c.q_dim());
  qx_ffn_ = quantized_scratch(b, c.ffn);
}

int64_t LlamaModel::linear_weight_bytes() const {
  int64_t bytes = output_->weight_bytes();
  for (const Layer& L : layers_) {
    bytes += L.qkv.weight_bytes() + L.o.weight_bytes() + L.gate_up.weight_bytes() +
             L.down.weight_bytes();
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
    for (int64_t t = 0; t < count; ++t) {
      batch_tokens_[t] = {tokens[done + t], 0, position + done + t,
                          all_logits || done + t == n - 1};
    }
    forward_batch(batch_tokens_.get(), count);
  }
  const int64_t rows = all_logits ? n : 1;
  return std::span<const float>(logits_.get(), rows * config_.vocab);
}

Result<std::span<const float>> LlamaModel::forward(std::span<const BatchToken> batch) {
  const auto n = static_cast<int64_t>(batch.size());
  if (n == 0 || n > batch_) {
    return make_error("forward: batch of {} tokens: expected 1 to {} (the batch size)", n, batch_);
  }
  std::fill(last_position_.get(), last_position_.get() + sequences(), int64_t{-1});
  int64_t rows = 0;
  for (int64_t t = 0; t < n; ++t) {
    const BatchToken& b = batch[t];
    if (b.token < 0 || b.token >= config_.vocab) {
      return make_error("forward: batch token {}: expected an id in [0, {}), found {}", t,
                        config_.vocab, b.token);
    }
    if (b.sequence < 0 || b.sequence >= sequences()) {
      return make_error("forward: batch token {}: expected a sequence in [0, {}), found {}", t,
                        sequences(), b.sequence);
    }
    if (b.position < 0 || b.position >= context()) {
      return make_error(
          "forward: batch token {}: expected a position within the context of {} tokens, found "
          "{}",
          t, context(), b.position);
    }
    if (b.position <= last_position_[b.sequence]) {
      return make_error(
          "forward: batch token {}: expected positions of sequence {} to increase along the "
          "batch, found {} after {}",
          t, b.sequence, b.position, last_position_[b.sequence]);
    }
    last_position_[b.sequence] = b.position;
    rows += b.logits ? 1 : 0;
  }
  forward_batch(batch.data(), n);
  return std::span<const float>(logits_.get(), rows * config_.vocab);
}

void LlamaModel::forward_batch(const BatchToken* batch, int64_t n) {
  const LlamaConfig& c = config_;
  const int64_t H = c.hidden;
  const int64_t Q = c.q_dim();
  const int64_t KV = c.kv_dim();
  const int64_t F = c.ffn;
  const int64_t rd = c.rope.dims;
  ThreadPool* pool = pool_.get();
  Stopwatch watch(profile_);
  using P = ForwardPhase;

  for_each_token(pool, n, [&](int64_t t) {
    embed(batch[t].token, x_.get() + t * H);
    rope_table(rope_theta_, batch[t].position, rope_.get() + t * rd);
    queries_[t] = {caches_[batch[t].sequence].get(), batch[t].position};
  });
  watch.lap(P::kEmbed);

  // A layer that is not part of a group: quantized once, or on the float GEMM.
  auto run = [&](LinearLayer& layer, const float* x, QuantizedActivations& qx, float* y) {
    if (!layer.quantized()) return layer.forward(x, n, y);
    quantize_into(x, n, layer.cols(), qx, pool);
    watch.lap(P::kQuantize);
    layer.forward_quantized(qx, y);
  };
  auto residual = [&](const float* add) {
    for_each_token(pool, n, [&](int64_t t) {
      float* x = x_.get() + t * H;
      const float* a = add + t * H;
      for (int64_t i = 0; i < H; ++i) x[i] += a[i];
    });
    watch.lap(P::kResidual);
  };
  auto norm = [&](const std::vector<float>& weight) {
    for_each_token(pool, n, [&](int64_t t) {
      rms_norm(x_.get() + t * H, weight.data(), H, c.rms_eps, xn_.get() + t * H);
    });
    watch.lap(P::kNorm);
  };

  for (int64_t l = 0; l < c.layers; ++l) {
    Layer& L = layers_[l];
    norm(L.attn_norm);
    L.qkv.quantize_input(xn_.get(), n, qx_hidden_, pool);
    watch.lap(P::kQuantize);
    float* const qkv[] = {q_.get(), k_.get(), v_.get()};
    L.qkv.forward(xn_.get(), n, qx_hidden_, qkv);
    watch.lap(P::kMatmul);

    // Biases, per-head RMSNorm of q and k (with the norm gains of one head) before or after RoPE,
    // as the architecture has them; then keys and values into the token's sequence's cache.
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
    for_each_token(pool, n, [&](int64_t t) {
      float* q = q_.get() + t * Q;
      float* k = k_.get() + t * KV;
      float* v = v_.get() + t * KV;
      add_bias(L.q_bias, q);
      add_bias(L.k_bias, k);
      add_bias(L.v_bias, v);
      const float* table = rope_.get() + t * rd;
      if (c.qk_norm == QkNorm::kBeforeRope) norm_heads(q, k);
      apply_rope(q, c.heads, c.head_dim, rd, table, c.rope.style);
      apply_rope(k, c.kv_heads, c.head_dim, rd, table, c.rope.style);
      if (c.qk_norm == QkNorm::kAfterRope) norm_heads(q, k);
      caches_[batch[t].sequence]->store(l, batch[t].position, k, v);
    });
    watch.lap(P::kRopeKv);
    attention(attention_shape_, q_.get(), queries_.get(), n, l, att_.get(), scores_.get(), pool);
    watch.lap(P::kAttention);

    run(L.o, att_.get(), qx_att_, proj_.get());
    watch.lap(P::kMatmul);
    residual(proj_.get());
    norm(L.ffn_norm);

    L.gate_up.quantize_input(xn_.get(), n, qx_hidden_, pool);
    watch.lap(P::kQuantize);
    float* const gate_up[] = {gate_.get(), up_.get()};
    L.gate_up.forward(xn_.get(), n, qx_hidden_, gate_up);
    watch.lap(P::kMatmul);
    for_each_token(pool, n, [&](int64_t t) {
      swiglu(gate_.get() + t * F, up_.get() + t * F, F, gate_.get() + t * F);
    });
    watch.lap(P::kMlp);
    run(L.down, gate_.get(), qx_ffn_, proj_.get());
    watch.lap(P::kMatmul);
    residual(proj_.get());
  }

  // Final norm and LM head, only for the tokens whose logits are wanted.
  int64_t rows = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (batch[t].logits) logit_rows_[rows++] = t;
  }
  for_each_token(pool, rows, [&](int64_t r) {
    rms_norm(x_.get() + logit_rows_[r] * H, output_norm_.data(), H, c.rms_eps, xn_.get() + r * H);
  });
  watch.lap(P::kNorm);
  if (rows > 0 && output_->quantized()) {
    quantize_into(xn_.get(), rows, H, qx_hidden_, pool);
    output_->forward_quantized(qx_hidden_, logits_.get());
  } else if (rows > 0) {
    output_->forward(xn_.get(), rows, logits_.get());
  }
  watch.lap(P::kHead);
  profile_.tokens += n;
}

const char* to_string(ForwardPhase phase) {
  switch (phase) {
    case ForwardPhase::kEmbed:
      return "embed";
    case ForwardPhase::kNorm:
      return "norm";
    case ForwardPhase::kQuantize:
      return "quantize";
    case ForwardPhase::kMatmul:
      return "matmul";
    case ForwardPhase::kRopeKv:
      return "rope_kv";
    case ForwardPhase::kAttention:
      return "attention";
    case ForwardPhase::kMlp:
      return "mlp";
    case ForwardPhase::kResidual:
      return "residual";
    case ForwardPhase::kHead:
      return "head";
    case ForwardPhase::kCount:
      break;
  }
  return "unknown";
}

double ForwardProfile::total() const {
  double sum = 0;
  for (const double s : seconds) sum += s;
  return sum;
}

double ForwardProfile::linear() const {
  return (*this)[ForwardPhase::kQuantize] + (*this)[ForwardPhase::kMatmul] +
         (*this)[ForwardPhase::kHead];
}

ForwardProfile ForwardProfile::operator-(const ForwardProfile& earlier) const {
  ForwardProfile d;
  for (size_t i = 0; i < kForwardPhases; ++i) d.seconds[i] = seconds[i] - earlier.seconds[i];
  d.tokens = tokens - earlier.tokens;
  return d;
}

std::vector<int32_t> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text,
                                     bool parse_special) {
  return tokenizer.encode(text, /*add_special=*/true, parse_special);
}

}  // namespace sherry::runtime
