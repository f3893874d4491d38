#include "jit/kernel_linear.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

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
                           int64_t scratch_bytes, std::shared_ptr<CallBuffers> buffers)
    : Linear(w.rows, w.cols),
      backend_(*kernels.front()->backend),
      kernels_(std::move(kernels)),
      weights_(backend_.prepare_weights(*kernels_.front(), w)),
      pool_(pool),
      extra_scratch_(scratch_bytes),
      buffers_(buffers != nullptr ? std::move(buffers) : std::make_shared<CallBuffers>()) {
  for (const auto& kernel : kernels_) {
    SHERRY_CHECK(kernel->backend == &backend_ && kernel->key.tuning == front_kernel().key.tuning,
                 "{}: not of the layer's backend and row tile ({})", kernel->name,
                 front_kernel().name);
  }
  // One call's buffers now, so a decode step allocates nothing; a prefill batch grows them on
  // its first call (to the tokens it has, not to max_tokens: most prompts are shorter).
  reserve(plan(static_cast<int64_t>(kernels_.size()), false),
          static_cast<int64_t>(kernels_.size()));
}

void KernelLinear::set_dot_kernel(std::shared_ptr<const Kernel> dot, int64_t min_tokens) {
  SHERRY_CHECK(dot->backend == &backend_ && dot->key.op == ir::KernelOp::kDotGemm &&
                   dot->key.tuning.row_tile == front_kernel().key.tuning.row_tile &&
                   min_tokens >= 2,
               "{}: not a dot kernel of the layer's backend and row tile ({}), or from {} tokens",
               dot->name, front_kernel().name, min_tokens);
  dot_ = std::move(dot);
  dot_min_tokens_ = min_tokens;
  acc_dot_.reset();
}

KernelLinear::CallPlan KernelLinear::plan(int64_t tokens, bool accumulators) {
  CallPlan p;
  if (dot_ != nullptr && tokens >= dot_min_tokens_) {
    if (accumulators && acc_dot_ == nullptr) {
      ir::KernelKey key = dot_->key;
      key.output = ir::OutputMode::kAccumulators;
      // The float kernel of the same key built, so this one does too (an internal error otherwise).
      acc_dot_ = KernelCache::global().get(key).value();
    }
    p.dot = accumulators ? acc_dot_.get() : dot_.get();
    p.n_tile = p.dot->key.n_tile;
    return p;
  }
  if (accumulators && acc_kernels_.empty()) {
    ir::KernelKey key = front_kernel().key;
    key.output = ir::OutputMode::kAccumulators;
    acc_kernels_ = layer_kernels(key, static_cast<int64_t>(kernels_.size())).value();
  }
  p.lookup = accumulators ? &acc_kernels_ : &kernels_;
  p.n_tile = static_cast<int64_t>(p.lookup->size());
  return p;
}

void KernelLinear::reserve(const CallPlan& plan, int64_t tokens) {
  // The largest call of the plan: its full-call kernel (for the lookup kernels, the largest of
  // them all, as the last call may use a smaller one).
  CallSizes need{};
  auto take = [&](const Kernel& kernel) {
    const CallSizes s = backend_.call_sizes(kernel);
    need.activation_bytes = std::max(need.activation_bytes, s.activation_bytes);
    need.out_bytes = std::max(need.out_bytes, s.out_bytes);
    need.scratch_bytes = std::max(need.scratch_bytes, s.scratch_bytes + extra_scratch_);
    need.workspace_bytes = std::max(need.workspace_bytes, s.workspace_bytes);
  };
  if (plan.dot != nullptr) {
    take(*plan.dot);
  } else {
    for (const auto& kernel : *plan.lookup) take(*kernel);
  }
  const int64_t calls = (tokens + plan.n_tile - 1) / plan.n_tile;
  const int64_t threads = pool_ == nullptr ? 1 : pool_->size();
  sizes_ = need;
  auto grow = [](auto& buffer, int64_t bytes) {
    if (static_cast<int64_t>(buffer.size()) < bytes) buffer.resize(static_cast<size_t>(bytes));
  };
  // A one-token call on several threads gives every thread its own tables (run_calls).
  grow(buffers_->activations, std::max(calls, threads) * need.activation_bytes);
  grow(buffers_->out, calls * need.out_bytes);
  grow(buffers_->scratch, threads * need.scratch_bytes);
  grow(buffers_->workspace, threads * need.workspace_bytes);
}

void KernelLinear::prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                                 uint8_t* call_activations, int8_t* scratch) const {
  backend_.prepare_token(kernel, q, index, call_activations, scratch);
}

void KernelLinear::run_calls(const CallPlan& plan, const LayerWeights& w,
                             const QuantizedActivations& x) {
  SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
  const int64_t n = x.tokens;
  const int64_t n_tile = plan.n_tile;
  const int64_t calls = (n + n_tile - 1) / n_tile;
  // Tokens of call c: n_tile, or what is left for the last call.
  auto tokens_of = [&](int64_t call) { return std::min(n_tile, n - call * n_tile); };
  auto prepare = [&](int64_t begin, int64_t end, int thread) {
    int8_t* scratch = buffers_->scratch.data() + thread * sizes_.scratch_bytes;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t call = t / n_tile;
      prepare_token(plan.kernel(tokens_of(call)), x.token(t), t % n_tile,
                    buffers_->activations.data() + call * sizes_.activation_bytes, scratch);
    }
  };
  auto compute = [&](int64_t begin, int64_t end, int thread) {
    uint8_t* workspace = buffers_->workspace.data() + thread * sizes_.workspace_bytes;
    for (int64_t call = 0; call < calls; ++call) {
      const CallArgs args{buffers_->activations.data() + call * sizes_.activation_bytes,
                          x.scales.data() + call * n_tile,
                          buffers_->out.data() + call * sizes_.out_bytes, tokens_of(call)};
      backend_.run(plan.kernel(tokens_of(call)), w, args, begin, end, workspace);
    }
  };
  const int64_t tiles = front_kernel().program.shape.tiles();
  const bool parallel = pool_ != nullptr && pool_->size() > 1 && tiles > 1;
  if (parallel && n == 1) {
    // Decode: every thread builds the token's tables itself, into its own buffer, and streams
    // its rows at once. Building them once on the caller and reading them from the other cores
    // cost more than building them twice (16 KB at K = 2048: about 3 µs of a 12 µs
    // 2048 x 2048 GEMV on two Zen 5 cores, against under 1 µs to build), and left the workers
    // waiting for the caller before their first weight.
    const Kernel& kernel = plan.kernel(1);
    pool_->parallel_for(tiles, 1, [&](int64_t begin, int64_t end, int thread) {
      uint8_t* tables = buffers_->activations.data() + thread * sizes_.activation_bytes;
      prepare_token(kernel, x.token(0), 0, tables,
                    buffers_->scratch.data() + thread * sizes_.scratch_bytes);
      const CallArgs args{tables, x.scales.data(), buffers_->out.data(), 1};
      backend_.run(kernel, w, args, begin, end,
                   buffers_->workspace.data() + thread * sizes_.workspace_bytes);
    });
    return;
  }
  if (parallel) {
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
  const CallBuffersLease lease(*buffers_, front_kernel().name);
  const CallPlan p = plan(x.tokens, false);
  reserve(p, x.tokens);
  run_calls(p, w, x);
  const int64_t m_pad = front_kernel().program.shape.m_pad;
  for (int64_t t = 0; t < x.tokens; ++t) {
    const auto* call_out =
        reinterpret_cast<const float*>(buffers_->out.data() + t / p.n_tile * sizes_.out_bytes);
    std::memcpy(y + t * rows_, call_out + t % p.n_tile * m_pad,
                static_cast<size_t>(rows_) * sizeof(float));
  }
}

void KernelLinear::forward_accumulators(const QuantizedActivations& x, int32_t* acc) {
  const CallBuffersLease lease(*buffers_, front_kernel().name);
  const CallPlan p = plan(x.tokens, true);
  reserve(p, x.tokens);
  run_calls(p, *weights_, x);
  const int64_t per_token = rows_ * front_kernel().program.shape.groups;
  for (int64_t t0 = 0; t0 < x.tokens; t0 += p.n_tile) {
    const int64_t tokens = std::min(p.n_tile, x.tokens - t0);
    backend_.read_accumulators(p.kernel(tokens),
                               buffers_->out.data() + t0 / p.n_tile * sizes_.out_bytes, tokens,
                               acc + t0 * per_token);
  }
}

std::string KernelLinear::kernel_name() const {
  std::string name = kernels_.front()->name;
  if (kernels_.size() > 1) name += " " + kernels_.back()->name;
  if (dot_ != nullptr) name += " " + dot_->name;
  return name;
}

std::string KernelLinear::kernel_name_for(int64_t tokens) const {
  if (dot_ != nullptr && tokens >= dot_min_tokens_) return dot_->name;
  return kernels_[static_cast<size_t>(std::min<int64_t>(tokens, kernels_.size()) - 1)]->name;
}

std::string KernelLinear::gemm_choice() const {
  if (dot_ != nullptr) {
    return fmt::format("calls of {}+ tokens on {}", dot_min_tokens_, dot_->name);
  }
  return no_dot_reason_.empty() ? "" : "lookup kernels only: " + no_dot_reason_;
}

}  // namespace sherry::jit
