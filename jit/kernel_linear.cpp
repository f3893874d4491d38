#include "jit/kernel_linear.h"

#include <algorithm>
#include <cstring>

#include "jit/kernel_build.h"
#include "jit/kernel_cache.h"

namespace sherry::jit {

Result<LayerKernels> layer_kernels(const ir::KernelKey& resolved, int64_t max_tokens) {
  const int64_t n_tile =
      std::max<int64_t>(1, std::min(std::max<int64_t>(1, max_tokens),
                                    max_n_tile(resolved.isa, resolved.tuning.row_tile)));
  LayerKernels kernels;
  for (int64_t n = 1; n <= n_tile; ++n) {
    ir::KernelKey key = resolved;
    key.op = n == 1 ? ir::KernelOp::kGemv : ir::KernelOp::kGemm;
    key.n_tile = n;
    Result<std::shared_ptr<const Kernel>> kernel = KernelCache::global().get(key);
    if (!kernel.ok()) return kernel.error();
    kernels.push_back(*kernel);
  }
  return kernels;
}

KernelLinear::KernelLinear(const PackedTensorView& w, LayerKernels kernels, ThreadPool* pool,
                           int64_t scratch_bytes)
    : Linear(w.rows, w.cols),
      backend_(*kernels.front()->backend),
      kernels_(std::move(kernels)),
      weights_(backend_.prepare_weights(*kernels_.front(), w)),
      pool_(pool),
      extra_scratch_(scratch_bytes) {
  for (const auto& kernel : kernels_) {
    SHERRY_CHECK(kernel->backend == &backend_ && kernel->key.tuning == front_kernel().key.tuning,
                 "{}: not of the layer's backend and row tile ({})", kernel->name,
                 front_kernel().name);
  }
  // One call's buffers now, so a decode step allocates nothing; a prefill batch grows them on
  // its first call (to the tokens it has, not to max_tokens: most prompts are shorter).
  reserve(kernels_, static_cast<int64_t>(kernels_.size()));
}

void KernelLinear::reserve(const LayerKernels& kernels, int64_t tokens) {
  CallSizes sizes = sizes_;
  for (const auto& kernel : kernels) {
    const CallSizes s = backend_.call_sizes(*kernel);
    sizes.activation_bytes = std::max(sizes.activation_bytes, s.activation_bytes);
    sizes.out_bytes = std::max(sizes.out_bytes, s.out_bytes);
    sizes.scratch_bytes = std::max(sizes.scratch_bytes, s.scratch_bytes + extra_scratch_);
    sizes.workspace_bytes = std::max(sizes.workspace_bytes, s.workspace_bytes);
  }
  const int64_t n_tile = static_cast<int64_t>(kernels.size());
  tokens = std::max(tokens, capacity_tokens_);
  const int64_t calls = (tokens + n_tile - 1) / n_tile;
  const int64_t threads = pool_ == nullptr ? 1 : pool_->size();
  const bool grown = sizes.activation_bytes != sizes_.activation_bytes ||
                     sizes.out_bytes != sizes_.out_bytes || tokens > capacity_tokens_ ||
                     sizes.scratch_bytes != sizes_.scratch_bytes ||
                     sizes.workspace_bytes != sizes_.workspace_bytes;
  if (!grown) return;
  sizes_ = sizes;
  capacity_tokens_ = tokens;
  activations_.resize(static_cast<size_t>(calls * sizes_.activation_bytes));
  out_.resize(static_cast<size_t>(calls * sizes_.out_bytes));
  scratch_.resize(static_cast<size_t>(threads * sizes_.scratch_bytes));
  workspace_.resize(static_cast<size_t>(threads * sizes_.workspace_bytes));
}

void KernelLinear::prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                                 uint8_t* call_activations, int8_t* scratch) const {
  backend_.prepare_token(kernel, q, index, call_activations, scratch);
}

void KernelLinear::run_calls(const LayerKernels& kernels, const LayerWeights& w,
                             const QuantizedActivations& x) {
  SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
  const int64_t n = x.tokens;
  const auto n_tile = static_cast<int64_t>(kernels.size());
  const int64_t calls = (n + n_tile - 1) / n_tile;
  // The kernel serving call c: n_tile tokens, or what is left for the last call.
  auto kernel_of = [&](int64_t call) -> const Kernel& {
    return *kernels[static_cast<size_t>(std::min(n_tile, n - call * n_tile) - 1)];
  };
  auto prepare = [&](int64_t begin, int64_t end, int thread) {
    int8_t* scratch = scratch_.data() + thread * sizes_.scratch_bytes;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t call = t / n_tile;
      prepare_token(kernel_of(call), x.token(t), t % n_tile,
                    activations_.data() + call * sizes_.activation_bytes, scratch);
    }
  };
  auto compute = [&](int64_t begin, int64_t end, int thread) {
    uint8_t* workspace = workspace_.data() + thread * sizes_.workspace_bytes;
    for (int64_t call = 0; call < calls; ++call) {
      const CallArgs args{activations_.data() + call * sizes_.activation_bytes,
                          x.scales.data() + call * n_tile, out_.data() + call * sizes_.out_bytes};
      backend_.run(kernel_of(call), w, args, begin, end, workspace);
    }
  };
  const int64_t tiles = front_kernel().program.shape.tiles();
  const bool parallel = pool_ != nullptr && pool_->size() > 1 && tiles > 1;
  if (parallel && n > 1) {
    pool_->parallel_for(n, 1, prepare);
  } else {
    prepare(0, n, 0);
  }
  if (parallel) {
    pool_->parallel_for(tiles, 1, compute);
  } else {
    compute(0, tiles, 0);
  }
}

void KernelLinear::run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) {
  reserve(kernels_, x.tokens);
  run_calls(kernels_, w, x);
  const auto n_tile = static_cast<int64_t>(kernels_.size());
  const int64_t m_pad = front_kernel().program.shape.m_pad;
  for (int64_t t = 0; t < x.tokens; ++t) {
    const auto* call_out =
        reinterpret_cast<const float*>(out_.data() + t / n_tile * sizes_.out_bytes);
    std::memcpy(y + t * rows_, call_out + t % n_tile * m_pad,
                static_cast<size_t>(rows_) * sizeof(float));
  }
}

void KernelLinear::forward_accumulators(const QuantizedActivations& x, int32_t* acc) {
  if (acc_kernels_.empty()) {
    ir::KernelKey key = front_kernel().key;
    key.output = ir::OutputMode::kAccumulators;
    // The float kernels of the same key built, so these do too (an internal error otherwise).
    acc_kernels_ = layer_kernels(key, static_cast<int64_t>(kernels_.size())).value();
  }
  reserve(acc_kernels_, x.tokens);
  run_calls(acc_kernels_, *weights_, x);
  const auto n_tile = static_cast<int64_t>(acc_kernels_.size());
  const int64_t per_token = rows_ * front_kernel().program.shape.groups;
  for (int64_t t0 = 0; t0 < x.tokens; t0 += n_tile) {
    const Kernel& kernel = *acc_kernels_[static_cast<size_t>(std::min(n_tile, x.tokens - t0) - 1)];
    backend_.read_accumulators(kernel, out_.data() + t0 / n_tile * sizes_.out_bytes,
                               std::min(n_tile, x.tokens - t0), acc + t0 * per_token);
  }
}

std::string KernelLinear::kernel_name() const {
  std::string name = kernels_.front()->name;
  if (kernels_.size() > 1) name += " " + kernels_.back()->name;
  return name;
}

}  // namespace sherry::jit
