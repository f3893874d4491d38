// The Llama model the trainer optimizes (the architecture sherry's runtime runs):
//   x = embed(tokens)
//   per layer: h = x + Wo · attn(rope(Wq · rms(x)), rope(Wk · rms(x)), Wv · rms(x))
//              x = h + Wdown · (silu(Wgate · rms(h)) ⊙ Wup · rms(h))
//   logits = head · rms(x)         (head = token embedding table when tied)
// RMSNorm with eps and a learned weight; RoPE of llama.cpp's type NORM (adjacent pairs
// (x[2i], x[2i+1]), angle pos · theta^(−2i/head_dim)); causal softmax(QKᵀ/√hd)V; GQA where query
// head h reads kv head h / (n_heads / n_kv_heads); SwiGLU. All parameters live in one flat
// vector (gradients in a twin), all activations in one arena, sized once for a micro-batch. The
// slots of q, k, v and of gate, up are adjacent, so each group is one (out × in) matrix and one
// GEMM; attention keeps only the log-sum-exp of its scores (the backward pass recomputes them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "core/weight_layout.h"
#include "trainer/qat/model_config.h"
#include "trainer/qat/phase_timer.h"
#include "trainer/qat/quant_method.h"

namespace sherry::train {

enum class TensorRole : uint8_t {
  kEmbedding,  // token_embd (also the head when tied)
  kNorm,       // RMSNorm weights
  kLinear,     // q, k, v, o, gate, up, down: the quantized ones
  kHead,       // untied output projection
};

// One parameter tensor inside the flat vector. Matrices are (rows × cols) = (out × in), row-major.
struct TensorSlot {
  std::string name;  // GGUF / llama.cpp name: "blk.0.attn_q.weight", "token_embd.weight", ...
  TensorRole role;
  int layer = -1;  // -1 for the global tensors
  int64_t offset = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t size() const { return rows * cols; }
};

template <class Real>
class LlamaModel {
 public:
  // max_batch sequences of up to config.seq_len tokens per forward. pool may be null.
  LlamaModel(const ModelConfig& config, int64_t max_batch, ThreadPool* pool);
  ~LlamaModel();
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  const ModelConfig& config() const { return config_; }
  int64_t max_batch() const { return max_batch_; }
  const std::vector<TensorSlot>& slots() const { return slots_; }
  // Internal check that the name exists.
  const TensorSlot& slot(std::string_view name) const;

  std::vector<Real>& params() { return params_; }
  const std::vector<Real>& params() const { return params_; }
  std::vector<Real>& grads() { return grads_; }
  const std::vector<Real>& grads() const { return grads_; }
  void zero_grads();

  // Matrices ~ N(0, 0.02²) (output projections o and down scaled by 1/√(2·n_layers)), norms 1.
  void init_random(uint64_t seed);

  // Chooses how linear layers see their weights and recomputes the effective weights. Call again
  // after every parameter change (the trainer does it once per optimizer step).
  void set_quantization(QuantMethod method, const WeightLayout& layout, double lambda);
  QuantMethod method() const { return method_; }
  double lambda() const { return lambda_; }
  // The weights the forward pass uses for a slot (the latent ones unless quantized linear).
  const Real* forward_weight(const TensorSlot& slot) const;
  // Ternary values / scales of the last set_quantization for a linear slot (quantized methods).
  const int8_t* ternary(const TensorSlot& slot) const { return ternary_.data() + slot.offset; }
  const std::vector<float>& alphas(const TensorSlot& slot) const;

  // tokens and targets: batch × seq (seq ≤ config.seq_len, batch ≤ max_batch); positions restart
  // at 0 in each sequence. Saves activations for backward; returns the SUM of token losses
  // (targets may be null: no loss, logits only).
  double forward(const int32_t* tokens, const int32_t* targets, int64_t batch, int64_t seq);
  // Accumulates the gradient of loss_scale · Σ token losses of the last forward into grads().
  // Overwrites the logits.
  void backward(Real loss_scale);
  // (batch · seq × vocab) of the last forward.
  const Real* logits() const;

  // Where forward, backward and set_quantization add their time per phase (null: not timed).
  void set_phase_times(PhaseTimes* times) { times_ = times; }

 private:
  struct Arena;
  void build_slots();

  ModelConfig config_;
  int64_t max_batch_;
  ThreadPool* pool_;
  std::vector<TensorSlot> slots_;
  std::vector<Real> params_;
  std::vector<Real> grads_;
  std::vector<Real> effective_;             // forward weights of linear slots when quantized
  std::vector<int8_t> ternary_;             // same offsets as params_
  std::vector<std::vector<float>> alphas_;  // per slot index
  QuantMethod method_ = QuantMethod::kFp;
  WeightLayout layout_;
  double lambda_ = 0.0;
  std::vector<Real> rope_cos_, rope_sin_;
  std::unique_ptr<Arena> arena_;
  std::vector<int32_t> last_tokens_;  // copies: backward must not depend on caller buffers
  std::vector<int32_t> last_targets_;
  int64_t last_batch_ = 0;
  int64_t last_seq_ = 0;
  PhaseTimes* times_ = nullptr;
};

extern template class LlamaModel<float>;
extern template class LlamaModel<double>;

}  // namespace sherry::train
