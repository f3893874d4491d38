// jit::Linear over the kernels of any backend (jit/backend.h): kernels_[n - 1] serves calls of n
// tokens (1 .. n_tile), all sharing one preparation of the weights. A forward of n tokens is
// ceil(n / n_tile) calls: the per-token prologue first (split over the threads when there are
// several tokens), then every thread runs its row tiles for all calls, so its weights stay in
// its cache. Buffers are sized for one call up front (and grow to the largest batch seen), so a
// decode step allocates nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/packed_tensor.h"
#include "core/thread_pool.h"
#include "jit/aligned_buffer.h"
#include "jit/backend.h"
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
  KernelLinear(const PackedTensorView& w, LayerKernels kernels, ThreadPool* pool,
               int64_t scratch_bytes = 0);

  void run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) override;
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override;
  const LayerWeights& weights() const override { return *weights_; }
  std::string kernel_name() const override;
  ir::Isa isa() const override { return kernels_.front()->key.isa; }

 protected:
  // The host prologue of one token (index < the kernel's n_tile) of a call.
  virtual void prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                             uint8_t* call_activations, int8_t* scratch) const;
  const Kernel& front_kernel() const { return *kernels_.front(); }

 private:
  void run_calls(const LayerKernels& kernels, const LayerWeights& w, const QuantizedActivations& x);
  void reserve(const LayerKernels& kernels, int64_t tokens);

  const Backend& backend_;
  LayerKernels kernels_;
  LayerKernels acc_kernels_;  // accumulator outputs, built by forward_accumulators
  std::unique_ptr<LayerWeights> weights_;
  ThreadPool* pool_;
  int64_t extra_scratch_;
  // Per call of n_tile tokens (the largest over the kernels), and per thread.
  CallSizes sizes_;
  AlignedBuffer<uint8_t> activations_;  // calls × sizes_.activation_bytes
  AlignedBuffer<uint8_t> out_;          // calls × sizes_.out_bytes
  AlignedBuffer<int8_t> scratch_;       // threads × sizes_.scratch_bytes
  AlignedBuffer<uint8_t> workspace_;    // threads × sizes_.workspace_bytes
  int64_t capacity_tokens_ = 0;
};

}  // namespace sherry::jit
