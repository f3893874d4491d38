// jit::Linear over the kernels of any backend (jit/backend.h): kernels_[n - 1] serves calls of n
// tokens (1 .. n_tile), all sharing one preparation of the weights. A forward of n tokens is
// ceil(n / n_tile) calls: the per-token prologue first (split over the threads when there are
// several tokens), then every thread runs its row tiles for all calls, so its weights stay in
// its cache. A layer may also hold a dot kernel (ir::KernelOp::kDotGemm, same weights): forwards
// of at least dot_min_tokens tokens run it instead, up to its n_tile tokens per call. Buffers are
// sized for one call up front (and grow to the largest batch seen), so a decode step allocates
// nothing; layers that run one after another may share them (jit/call_buffers.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/packed_tensor.h"
#include "core/thread_pool.h"
#include "jit/aligned_buffer.h"
#include "jit/backend.h"
#include "jit/call_buffers.h"
#include "jit/kernel.h"
#include "jit/linear.h"

namespace sherry::jit {

using LayerKernels = std::vector<std::shared_ptr<const Kernel>>;

// Kernels for 1 .. n_tile tokens of a resolved key (from the kernel cache), n_tile limited by
// the path's registers and by max_tokens.
Result<LayerKernels> layer_kernels(const ir::KernelKey& resolved, int64_t max_tokens);

class KernelLinear : public Linear {
 public:
  // `scratch_bytes`: per-thread prologue scratch beyond what the backend asks for (0: none).
  // `buffers`: call buffers shared with layers that never run at the same time as this one
  // (nullptr: its own).
  KernelLinear(const PackedTensorView& w, LayerKernels kernels, ThreadPool* pool,
               int64_t scratch_bytes = 0, std::shared_ptr<CallBuffers> buffers = nullptr);

  // Forwards of at least `min_tokens` tokens run `dot` (a dot kernel of the layer's key and
  // row tile; min_tokens ≥ 2), the rest the lookup kernels. `why_not`, when there is no dot
  // kernel, says why (kernel_name shows it).
  void set_dot_kernel(std::shared_ptr<const Kernel> dot, int64_t min_tokens);
  void set_no_dot_reason(std::string why_not) { no_dot_reason_ = std::move(why_not); }
  int64_t dot_min_tokens() const { return dot_ == nullptr ? 0 : dot_min_tokens_; }

  void run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) override;
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override;
  const LayerWeights& weights() const override { return *weights_; }
  std::string kernel_name() const override;
  std::string gemm_choice() const override;
  std::string kernel_name_for(int64_t tokens) const override;
  ir::Isa isa() const override { return kernels_.front()->key.isa; }

 protected:
  // The host prologue of one token (index < the kernel's n_tile) of a call.
  virtual void prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                             uint8_t* call_activations, int8_t* scratch) const;
  const Kernel& front_kernel() const { return *kernels_.front(); }

 private:
  // The kernels a forward runs: the lookup kernels (one per token count of a call), or the dot
  // kernel alone (any count up to its n_tile).
  struct CallPlan {
    const LayerKernels* lookup = nullptr;
    const Kernel* dot = nullptr;
    int64_t n_tile = 0;  // tokens per full call
    const Kernel& kernel(int64_t tokens) const {
      return dot != nullptr ? *dot : *(*lookup)[static_cast<size_t>(tokens - 1)];
    }
  };
  CallPlan plan(int64_t tokens, bool accumulators);
  void run_calls(const CallPlan& plan, const LayerWeights& w, const QuantizedActivations& x);
  void reserve(const CallPlan& plan, int64_t tokens);

  const Backend& backend_;
  LayerKernels kernels_;
  LayerKernels acc_kernels_;  // accumulator outputs, built by forward_accumulators
  std::shared_ptr<const Kernel> dot_;
  std::shared_ptr<const Kernel> acc_dot_;  // accumulator outputs, built by forward_accumulators
  int64_t dot_min_tokens_ = 0;
  std::string no_dot_reason_;
  std::unique_ptr<LayerWeights> weights_;
  ThreadPool* pool_;
  int64_t extra_scratch_;
  // Per call of the current plan (activations: calls or threads × sizes_.activation_bytes; out:
  // calls × sizes_.out_bytes), and per thread (scratch, workspace): the buffers grow to the
  // largest any forward of a layer sharing them needed, never shrink.
  CallSizes sizes_;
  std::shared_ptr<CallBuffers> buffers_;
};

}  // namespace sherry::jit
