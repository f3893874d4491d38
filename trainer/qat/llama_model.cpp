#include "trainer/qat/llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "runtime/gguf/llama_names.h"
#include "trainer/qat/layers.h"
#include "trainer/qat/phase_timer.h"
#include "trainer/qat/rng.h"

namespace sherry::train {

namespace names = gguf::names;

// Saved activations (per layer) and backward scratch, carved out of one allocation. q|k|v and
// gate|up are single fused activations (one GEMM each: their weights are adjacent slots).
template <class Real>
struct LlamaModel<Real>::Arena {
  struct Layer {
    Real* x_in;     // (n, dim) residual stream entering the layer
    Real* xn1;      // (n, dim) attention RMSNorm output
    Real* rstd1;    // (n)
    Real* qkv;      // (n, dim + 2·kv_dim): q and k after RoPE, v
    Real* lse;      // (batch, heads, seq) log-sum-exp of the attention scores
    Real* att;      // (n, dim) attention output before Wo
    Real* x_mid;    // (n, dim) residual after attention
    Real* xn2;      // (n, dim)
    Real* rstd2;    // (n)
    Real* gate_up;  // (n, 2·hidden)
    Real* act;      // (n, hidden) silu(gate) ⊙ up
  };
  std::vector<Real> storage;
  std::vector<Layer> layers;
  Real* x_out;   // (n, dim) after the last layer
  Real* xnf;     // (n, dim) final RMSNorm output
  Real* rstdf;   // (n)
  Real* logits;  // (n, vocab)
  Real* losses;  // (n)
  Real* lse;     // (n) log-sum-exp of the logits
  // backward scratch
  Real* dx;        // (n, dim) gradient of the residual stream
  Real* dxn;       // (n, dim)
  Real* dqkv;      // (n, dim + 2·kv_dim)
  Real* datt;      // (n, dim)
  Real* dgate_up;  // (n, 2·hidden)
  Real* dact;      // (n, hidden)

  Arena(const ModelConfig& c, int64_t batch) {
    const int64_t n = batch * c.seq_len, d = c.dim, f = c.hidden_dim;
    const int64_t qkv_dim = d + 2 * int64_t{c.kv_dim()};
    const int64_t per_layer = n * d * 5 + n * 2 + n * qkv_dim + n * c.n_heads + n * f * 3;
    const int64_t global =
        n * d * 2 + n * 3 + n * int64_t{c.vocab_size} + n * d * 3 + n * qkv_dim + n * f * 3;
    storage.assign(per_layer * c.n_layers + global, Real(0));
    Real* p = storage.data();
    auto take = [&](int64_t count) {
      Real* out = p;
      p += count;
      return out;
    };
    layers.resize(c.n_layers);
    for (Layer& l : layers) {
      l.x_in = take(n * d);
      l.xn1 = take(n * d);
      l.rstd1 = take(n);
      l.qkv = take(n * qkv_dim);
      l.lse = take(n * c.n_heads);
      l.att = take(n * d);
      l.x_mid = take(n * d);
      l.xn2 = take(n * d);
      l.rstd2 = take(n);
      l.gate_up = take(n * 2 * f);
      l.act = take(n * f);
    }
    x_out = take(n * d);
    xnf = take(n * d);
    rstdf = take(n);
    logits = take(n * c.vocab_size);
    losses = take(n);
    lse = take(n);
    dx = take(n * d);
    dxn = take(n * d);
    dqkv = take(n * qkv_dim);
    datt = take(n * d);
    dgate_up = take(n * 2 * f);
    dact = take(n * f);
    SHERRY_CHECK(p == storage.data() + storage.size());
  }
};

template <class Real>
LlamaModel<Real>::LlamaModel(const ModelConfig& config, int64_t max_batch, ThreadPool* pool)
    : config_(config), max_batch_(max_batch), pool_(pool) {
  SHERRY_CHECK(validate_model_config(config, "LlamaModel").ok());
  SHERRY_CHECK(max_batch > 0);
  build_slots();
  const int64_t total = slots_.back().offset + slots_.back().size();
  params_.assign(total, Real(0));
  grads_.assign(total, Real(0));
  alphas_.resize(slots_.size());
  rope_table(rope_cos_, rope_sin_, config.seq_len, config.head_dim(), config.rope_theta);
  arena_ = std::make_unique<Arena>(config, max_batch);
}

template <class Real>
LlamaModel<Real>::~LlamaModel() = default;

template <class Real>
void LlamaModel<Real>::build_slots() {
  const ModelConfig& c = config_;
  int64_t offset = 0;
  auto add = [&](std::string name, TensorRole role, int layer, int64_t rows, int64_t cols) {
    slots_.push_back({std::move(name), role, layer, offset, rows, cols});
    offset += rows * cols;
  };
  add(std::string(names::kTokenEmbedding), TensorRole::kEmbedding, -1, c.vocab_size, c.dim);
  for (int l = 0; l < c.n_layers; ++l) {
    add(names::block_tensor(l, names::kAttnNorm), TensorRole::kNorm, l, 1, c.dim);
    add(names::block_tensor(l, names::kAttnQ), TensorRole::kLinear, l, c.dim, c.dim);
    add(names::block_tensor(l, names::kAttnK), TensorRole::kLinear, l, c.kv_dim(), c.dim);
    add(names::block_tensor(l, names::kAttnV), TensorRole::kLinear, l, c.kv_dim(), c.dim);
    add(names::block_tensor(l, names::kAttnOutput), TensorRole::kLinear, l, c.dim, c.dim);
    add(names::block_tensor(l, names::kFfnNorm), TensorRole::kNorm, l, 1, c.dim);
    add(names::block_tensor(l, names::kFfnGate), TensorRole::kLinear, l, c.hidden_dim, c.dim);
    add(names::block_tensor(l, names::kFfnUp), TensorRole::kLinear, l, c.hidden_dim, c.dim);
    add(names::block_tensor(l, names::kFfnDown), TensorRole::kLinear, l, c.dim, c.hidden_dim);
  }
  add(std::string(names::kOutputNorm), TensorRole::kNorm, -1, 1, c.dim);
  // forward() runs q|k|v and gate|up as one GEMM each over adjacent weights.
  for (int l = 0; l < c.n_layers; ++l) {
    const TensorSlot* s = slots_.data() + 1 + 9 * l;
    SHERRY_CHECK(s[2].offset == s[1].offset + s[1].size() &&
                 s[3].offset == s[2].offset + s[2].size() &&
                 s[7].offset == s[6].offset + s[6].size());
  }
  if (!c.tied_embeddings) {
    add(std::string(names::kOutput), TensorRole::kHead, -1, c.vocab_size, c.dim);
  }
}

template <class Real>
const TensorSlot& LlamaModel<Real>::slot(std::string_view name) const {
  for (const TensorSlot& s : slots_)
    if (s.name == name) return s;
  SHERRY_CHECK(false, "no tensor slot named {}", name);
  return slots_.front();
}

template <class Real>
void LlamaModel<Real>::zero_grads() {
  std::fill(grads_.begin(), grads_.end(), Real(0));
}

template <class Real>
void LlamaModel<Real>::init_random(uint64_t seed) {
  Rng rng(seed);
  const double residual_scale = 1.0 / std::sqrt(2.0 * config_.n_layers);
  for (const TensorSlot& s : slots_) {
    Real* p = params_.data() + s.offset;
    if (s.role == TensorRole::kNorm) {
      std::fill_n(p, s.size(), Real(1));
      continue;
    }
    const bool residual_out =
        s.name.ends_with(names::kAttnOutput) || s.name.ends_with(names::kFfnDown);
    const double std_dev = 0.02 * (residual_out ? residual_scale : 1.0);
    for (int64_t i = 0; i < s.size(); ++i) p[i] = static_cast<Real>(rng.normal() * std_dev);
  }
  if (method_ != QuantMethod::kFp) set_quantization(method_, layout_, lambda_);
}

template <class Real>
void LlamaModel<Real>::set_quantization(QuantMethod method, const WeightLayout& layout,
                                        double lambda) {
  PhaseTimer timer(times_, Phase::kQuantize);
  method_ = method;
  layout_ = layout;
  lambda_ = lambda;
  if (!is_quantized(method)) return;
  if (effective_.size() != params_.size()) {
    effective_.assign(params_.size(), Real(0));
    ternary_.assign(params_.size(), 0);
  }
  std::vector<size_t> linear;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].role == TensorRole::kLinear) {
      linear.push_back(i);
      alphas_[i].resize(scale_count(layout, slots_[i].rows, slots_[i].cols));
    }
  parallel_ranges(pool_, static_cast<int64_t>(linear.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const size_t i = linear[j];
      const TensorSlot& s = slots_[i];
      effective_weight<Real>(method, params_.data() + s.offset, s.rows, s.cols, layout, lambda,
                             effective_.data() + s.offset, ternary_.data() + s.offset,
                             alphas_[i].data());
    }
  });
}

template <class Real>
const Real* LlamaModel<Real>::forward_weight(const TensorSlot& s) const {
  if (s.role == TensorRole::kLinear && is_quantized(method_)) return effective_.data() + s.offset;
  return params_.data() + s.offset;
}

template <class Real>
const std::vector<float>& LlamaModel<Real>::alphas(const TensorSlot& s) const {
  return alphas_[&s - slots_.data()];
}

template <class Real>
const Real* LlamaModel<Real>::logits() const {
  return arena_->logits;
}

template <class Real>
double LlamaModel<Real>::forward(const int32_t* tokens, const int32_t* targets, int64_t batch,
                                 int64_t seq) {
  const ModelConfig& c = config_;
  SHERRY_CHECK(batch > 0 && batch <= max_batch_ && seq > 0 && seq <= c.seq_len);
  const int64_t n = batch * seq, d = c.dim, kv = c.kv_dim(), f = c.hidden_dim;
  const int64_t qkv_dim = d + 2 * kv;
  Arena& a = *arena_;
  PhaseTimes* times = times_;
  last_batch_ = batch;
  last_seq_ = seq;
  last_tokens_.assign(tokens, tokens + n);
  if (targets != nullptr)
    last_targets_.assign(targets, targets + n);
  else
    last_targets_.clear();
  for (int64_t r = 0; r < n; ++r) SHERRY_CHECK(tokens[r] >= 0 && tokens[r] < c.vocab_size);

  const Real eps = static_cast<Real>(c.norm_eps);
  const TensorSlot* s = slots_.data() + 1;  // walks the per-layer slots in build order
  {
    PhaseTimer timer(times, Phase::kOther);
    embedding_forward(a.layers[0].x_in, tokens, params_.data() + slots_[0].offset, n, d);
  }
  for (int l = 0; l < c.n_layers; ++l) {
    auto& L = a.layers[l];
    const TensorSlot &attn_norm = s[0], &wq = s[1], &wo = s[4], &ffn_norm = s[5], &wg = s[6],
                     &wd = s[8];
    s += 9;
    {
      PhaseTimer timer(times, Phase::kOther);
      rmsnorm_forward(L.xn1, L.rstd1, L.x_in, params_.data() + attn_norm.offset, n, d, eps, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kGemm);
      linear_forward(L.qkv, L.xn1, forward_weight(wq), n, qkv_dim, d, pool_);  // Wq|Wk|Wv
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      rope_apply(L.qkv, qkv_dim, rope_cos_.data(), rope_sin_.data(), n, seq, c.n_heads,
                 c.head_dim(), false, pool_);
      rope_apply(L.qkv + d, qkv_dim, rope_cos_.data(), rope_sin_.data(), n, seq, c.n_kv_heads,
                 c.head_dim(), false, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kAttention);
      attention_forward(L.att, L.lse, L.qkv, L.qkv + d, L.qkv + d + kv, qkv_dim, batch, seq,
                        c.n_heads, c.n_kv_heads, c.head_dim(), pool_);
    }
    {
      PhaseTimer timer(times, Phase::kGemm);
      std::memcpy(L.x_mid, L.x_in, n * d * sizeof(Real));
      linear_forward(L.x_mid, L.att, forward_weight(wo), n, d, d, pool_, Real(1));
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      rmsnorm_forward(L.xn2, L.rstd2, L.x_mid, params_.data() + ffn_norm.offset, n, d, eps, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kGemm);
      linear_forward(L.gate_up, L.xn2, forward_weight(wg), n, 2 * f, d, pool_);  // Wgate|Wup
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      swiglu_forward(L.act, L.gate_up, n, f, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kGemm);
      Real* next = l + 1 < c.n_layers ? a.layers[l + 1].x_in : a.x_out;
      std::memcpy(next, L.x_mid, n * d * sizeof(Real));
      linear_forward(next, L.act, forward_weight(wd), n, d, f, pool_, Real(1));
    }
  }
  const TensorSlot& out_norm = s[0];
  const TensorSlot& head = c.tied_embeddings ? slots_[0] : s[1];
  {
    PhaseTimer timer(times, Phase::kOther);
    rmsnorm_forward(a.xnf, a.rstdf, a.x_out, params_.data() + out_norm.offset, n, d, eps, pool_);
  }
  {
    PhaseTimer timer(times, Phase::kGemm);
    linear_forward(a.logits, a.xnf, params_.data() + head.offset, n, int64_t{c.vocab_size}, d,
                   pool_);
  }
  if (targets == nullptr) return 0.0;
  for (int64_t r = 0; r < n; ++r) SHERRY_CHECK(targets[r] >= 0 && targets[r] < c.vocab_size);
  PhaseTimer timer(times, Phase::kLoss);
  cross_entropy_forward(a.losses, a.lse, a.logits, targets, n, int64_t{c.vocab_size}, pool_);
  double sum = 0;
  for (int64_t r = 0; r < n; ++r) sum += a.losses[r];
  return sum;
}

template <class Real>
void LlamaModel<Real>::backward(Real loss_scale) {
  const ModelConfig& c = config_;
  SHERRY_CHECK(!last_targets_.empty(), "backward needs a forward with targets");
  const int64_t batch = last_batch_, seq = last_seq_;
  const int64_t n = batch * seq, d = c.dim, kv = c.kv_dim(), f = c.hidden_dim, V = c.vocab_size;
  const int64_t qkv_dim = d + 2 * kv;
  Arena& a = *arena_;
  PhaseTimes* times = times_;
  // STE + Arenas: the latent weight gets (1 + λ) times the gradient of its forward weight.
  const Real linear_scale = static_cast<Real>(1.0 + method_lambda(method_, lambda_));
  Real* g = grads_.data();

  {
    PhaseTimer timer(times, Phase::kLoss);
    cross_entropy_backward(a.logits, a.lse, last_targets_.data(), n, V, loss_scale, pool_);
  }
  const TensorSlot& out_norm = slots_[1 + 9 * c.n_layers];
  const TensorSlot& head = c.tied_embeddings ? slots_[0] : slots_[2 + 9 * c.n_layers];
  {
    PhaseTimer timer(times, Phase::kGemm);
    std::fill_n(a.dxn, n * d, Real(0));
    linear_backward(a.dxn, g + head.offset, a.logits, a.xnf, params_.data() + head.offset, n, V, d,
                    Real(1), pool_);
  }
  {
    PhaseTimer timer(times, Phase::kOther);
    std::fill_n(a.dx, n * d, Real(0));
    rmsnorm_backward(a.dx, g + out_norm.offset, a.dxn, a.x_out, params_.data() + out_norm.offset,
                     a.rstdf, n, d, pool_);
  }

  for (int l = c.n_layers - 1; l >= 0; --l) {
    auto& L = a.layers[l];
    const TensorSlot* s = slots_.data() + 1 + 9 * l;
    const TensorSlot &attn_norm = s[0], &wq = s[1], &wo = s[4], &ffn_norm = s[5], &wg = s[6],
                     &wd = s[8];
    // FFN: x = x_mid + Wdown · act
    {
      PhaseTimer timer(times, Phase::kGemm);
      std::fill_n(a.dact, n * f, Real(0));
      linear_backward(a.dact, g + wd.offset, a.dx, L.act, forward_weight(wd), n, d, f, linear_scale,
                      pool_);
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      swiglu_backward(a.dgate_up, a.dact, L.gate_up, n, f, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kGemm);
      std::fill_n(a.dxn, n * d, Real(0));
      linear_backward(a.dxn, g + wg.offset, a.dgate_up, L.xn2, forward_weight(wg), n, 2 * f, d,
                      linear_scale, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      rmsnorm_backward(a.dx, g + ffn_norm.offset, a.dxn, L.x_mid, params_.data() + ffn_norm.offset,
                       L.rstd2, n, d, pool_);
    }
    // attention: x_mid = x_in + Wo · att
    {
      PhaseTimer timer(times, Phase::kGemm);
      std::fill_n(a.datt, n * d, Real(0));
      linear_backward(a.datt, g + wo.offset, a.dx, L.att, forward_weight(wo), n, d, d, linear_scale,
                      pool_);
    }
    {
      PhaseTimer timer(times, Phase::kAttention);
      attention_backward(a.dqkv, a.dqkv + d, a.dqkv + d + kv, qkv_dim, a.datt, L.att, L.lse, L.qkv,
                         L.qkv + d, L.qkv + d + kv, qkv_dim, batch, seq, c.n_heads, c.n_kv_heads,
                         c.head_dim(), pool_);
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      rope_apply(a.dqkv, qkv_dim, rope_cos_.data(), rope_sin_.data(), n, seq, c.n_heads,
                 c.head_dim(), true, pool_);
      rope_apply(a.dqkv + d, qkv_dim, rope_cos_.data(), rope_sin_.data(), n, seq, c.n_kv_heads,
                 c.head_dim(), true, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kGemm);
      std::fill_n(a.dxn, n * d, Real(0));
      linear_backward(a.dxn, g + wq.offset, a.dqkv, L.xn1, forward_weight(wq), n, qkv_dim, d,
                      linear_scale, pool_);
    }
    {
      PhaseTimer timer(times, Phase::kOther);
      rmsnorm_backward(a.dx, g + attn_norm.offset, a.dxn, L.x_in, params_.data() + attn_norm.offset,
                       L.rstd1, n, d, pool_);
    }
  }
  PhaseTimer timer(times, Phase::kOther);
  embedding_backward(g + slots_[0].offset, a.dx, last_tokens_.data(), n, d);
}

template class LlamaModel<float>;
template class LlamaModel<double>;

}  // namespace sherry::train
