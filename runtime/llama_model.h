// A Llama-family transformer loaded from a GGUF file: token embedding, per layer RMSNorm →
// q/k/v (+ biases when present, per-head q/k RMSNorm where the architecture has it, RoPE) →
// grouped-query attention over the KV cache → output projection → RMSNorm → SwiGLU MLP, each with
// a residual add, then the final norm and the (tied or separate) LM head. Architectures: llama,
// qwen2, qwen3, hunyuan-dense (llama_config.h).
// Weights stay in the mapped file (quantized ones are repacked once into the kernels' layout);
// the KV caches (one per sequence) and every scratch buffer are allocated at load time: forward()
// does not allocate.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "jit/linear.h"
#include "runtime/attention.h"
#include "runtime/kv_cache.h"
#include "runtime/linear_group.h"
#include "runtime/linear_layer.h"
#include "runtime/llama_config.h"
#include "runtime/tokenizer/tokenizer.h"

namespace sherry::gguf {
class Reader;
}

namespace sherry::runtime {

struct ModelOptions {
  jit::KernelBackend backend = jit::KernelBackend::kJit;
  int threads = 0;      // total threads (0: all hardware threads)
  int64_t context = 0;  // KV cache positions (0: the model's context length)
  KvType kv_type = KvType::kF16;
  int64_t batch = 64;          // tokens per forward pass when processing a prompt
  bool need_tokenizer = true;  // a file without tokenizer.ggml.* is an error
  // Repack an F32/F16/BF16 LM head into Q8_0 at load (half the bytes per decoded token).
  bool head_q8_0 = false;
  // Sequences decoded side by side (a server's slots), each with a KV cache of `context`
  // positions; forward(std::span<const BatchToken>) runs tokens of several of them in one pass.
  int64_t sequences = 1;
  // Block grouping of STQ1_0 tensors in files whose metadata does not say (default stride16,
  // llama.cpp's); a file that says otherwise is an error.
  std::optional<BlockGrouping> stq1_0_grouping;
};

// One token of a pass over several sequences (llama.cpp's llama_batch entry).
struct BatchToken {
  int32_t token = 0;
  int32_t sequence = 0;  // whose KV cache: 0 .. sequences() − 1
  int64_t position = 0;  // within that sequence
  bool logits = false;   // return this token's logits
};

// The phases of a forward pass, as ForwardProfile times them.
enum class ForwardPhase : uint8_t {
  kEmbed,      // embedding rows, RoPE angles
  kNorm,       // RMSNorm before attention, the MLP and the head
  kQuantize,   // int8 quantization of the quantized layers' inputs
  kMatmul,     // q/k/v, o, gate/up, down (tables and kernels, or the float GEMM)
  kRopeKv,     // RoPE on q and k, keys and values into the cache
  kAttention,  // scores, softmax, weighted sum
  kMlp,        // SwiGLU
  kResidual,   // residual adds
  kHead,       // the LM head (its input quantization included)
  kCount
};
inline constexpr size_t kForwardPhases = static_cast<size_t>(ForwardPhase::kCount);
// "embed", "norm", "quantize", "matmul", "rope_kv", "attention", "mlp", "residual", "head".
const char* to_string(ForwardPhase phase);

// Where forward() spends its time (seconds, summed over calls).
struct ForwardProfile {
  std::array<double, kForwardPhases> seconds{};
  int64_t tokens = 0;

  double operator[](ForwardPhase phase) const { return seconds[static_cast<size_t>(phase)]; }
  double total() const;
  // The coarse split: matmuls (their input quantization and the head included), attention,
  // everything else.
  double linear() const;
  double attention() const { return (*this)[ForwardPhase::kAttention]; }
  double other() const { return total() - linear() - attention(); }
  ForwardProfile operator-(const ForwardProfile& earlier) const;
};

struct LoadStats {
  double load_seconds = 0;  // whole load, JIT included
  double jit_seconds = 0;   // in make_linear (repack + kernel generation)
  std::string kernel;       // kernel of blk.0.attn_q, e.g. the ISA path chosen
  std::string head_kernel;  // kernel of the LM head
};

class LlamaModel {
 public:
  // Errors name the file and the object: missing/truncated/foreign file (from the GGUF reader),
  // unknown architecture, missing key or tensor, a shape that contradicts the metadata.
  static Result<std::unique_ptr<LlamaModel>> load(const std::string& path,
                                                  const ModelOptions& options);
  ~LlamaModel();

  const LlamaConfig& config() const { return config_; }
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  const LoadStats& load_stats() const { return stats_; }
  const ForwardProfile& profile() const { return profile_; }
  int64_t context() const { return caches_[0]->context(); }  // positions per sequence
  int64_t batch() const { return batch_; }
  int64_t sequences() const { return static_cast<int64_t>(caches_.size()); }
  int threads() const { return pool_->size(); }
  size_t kv_cache_bytes() const { return caches_[0]->bytes() * caches_.size(); }
  // Weight bytes the linear layers (LM head included) read per decoded token.
  int64_t linear_weight_bytes() const;

  // Runs tokens of sequence 0 at positions [position, position + tokens.size()) and stores their
  // keys and values in its cache (earlier positions must have been run before). Prompts longer than
  // batch() run in several passes. Returns the logits of the last token (vocab floats), or with
  // all_logits of every token (tokens.size() × vocab; then at most batch() tokens). The span stays
  // valid until the next call. Errors: a token id outside the vocabulary, positions beyond the
  // context, too many tokens for all_logits.
  Result<std::span<const float>> forward(std::span<const int32_t> tokens, int64_t position,
                                         bool all_logits = false);
  // One pass over at most batch() tokens of any sequences: each token's key and value go to its
  // sequence's cache at its position, and it attends to that cache's positions 0 .. position
  // (earlier positions must have been run before, or come earlier in this batch). Returns the
  // logits of the tokens with `logits` set, in batch order (count × vocab), valid until the next
  // call. The linear layers run once over all the tokens (the GEMM kernels for n > 1). Errors: an
  // empty or too large batch, a token id outside the vocabulary, an unknown sequence, a position
  // beyond the context, positions of one sequence not increasing along the batch.
  Result<std::span<const float>> forward(std::span<const BatchToken> batch);

 private:
  struct Layer {
    std::vector<float> attn_norm;
    std::vector<float> ffn_norm;
    LinearGroup qkv;  // q, k, v: one input
    LinearLayer o;
    LinearGroup gate_up;  // gate, up: one input
    LinearLayer down;
    std::vector<float> q_bias = {}, k_bias = {}, v_bias = {};  // empty when the file has none
    std::vector<float> q_norm = {}, k_norm = {};               // (head_dim), with QkNorm only
  };
  LlamaModel() = default;
  Status load_weights(const gguf::Reader& reader, const ModelOptions& options);
  void allocate(const ModelOptions& options);
  // One pass of n ≤ batch tokens (validated); logits for the tokens that ask for them.
  void forward_batch(const BatchToken* batch, int64_t n);
  void embed(int32_t token, float* out) const;

  std::unique_ptr<gguf::Reader> reader_;  // owns the mapping the float weights point into
  LlamaConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ThreadPool> pool_;
  FloatMatrix embedding_;
  std::vector<Layer> layers_;
  std::vector<float> output_norm_;
  std::unique_ptr<LinearLayer> output_;
  std::vector<float> rope_theta_;
  std::vector<std::unique_ptr<KvCache>> caches_;  // one per sequence
  int64_t batch_ = 0;
  AttentionShape attention_shape_;
  LoadStats stats_;
  ForwardProfile profile_;

  // Scratch, batch × width each, allocated once.
  std::unique_ptr<float[]> x_;       // residual stream (hidden)
  std::unique_ptr<float[]> xn_;      // normed (hidden)
  std::unique_ptr<float[]> q_;       // (q_dim)
  std::unique_ptr<float[]> k_;       // (kv_dim)
  std::unique_ptr<float[]> v_;       // (kv_dim)
  std::unique_ptr<float[]> att_;     // attention output (q_dim)
  std::unique_ptr<float[]> proj_;    // o / down projection output (hidden)
  std::unique_ptr<float[]> gate_;    // (ffn), SwiGLU output in place
  std::unique_ptr<float[]> up_;      // (ffn)
  std::unique_ptr<float[]> logits_;  // batch × vocab
  std::unique_ptr<float[]> rope_;    // batch × rope dims (cos, sin)
  std::unique_ptr<float[]> scores_;  // threads × context
  QuantizedActivations qx_hidden_;   // batch × hidden
  QuantizedActivations qx_att_;      // batch × q_dim
  QuantizedActivations qx_ffn_;      // batch × ffn

  // Per pass over several sequences, allocated once.
  std::unique_ptr<BatchToken[]> batch_tokens_;  // batch: forward(tokens, position)'s passes
  std::unique_ptr<AttentionQuery[]> queries_;   // batch: each token's cache and position
  std::unique_ptr<int64_t[]> logit_rows_;       // batch: the tokens whose logits are wanted
  std::unique_ptr<int64_t[]> last_position_;    // sequences: batch validation
};

// Token ids for text: the model's tokenizer with its BOS rule (parse_special: special tokens
// written in the text become their ids).
std::vector<int32_t> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text,
                                     bool parse_special = true);

}  // namespace sherry::runtime
