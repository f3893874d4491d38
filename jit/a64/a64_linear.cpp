#include "jit/a64/a64_linear.h"

#include <algorithm>
#include <cstring>

#include "jit/a64/a64_kernel.h"

namespace sherry::jit::a64 {
namespace {

// Buffers are sized for the largest call up front and the thread pool's body is built once, so
// forward() allocates nothing (the runtime's decode loop relies on it).
class A64Linear final : public Linear {
 public:
  A64Linear(const PackedTensorView& w, std::vector<std::shared_ptr<const Kernel>> kernels,
            ThreadPool* pool)
      : Linear(w.rows, w.cols), kernels_(std::move(kernels)), pool_(pool) {
    const A64Kernel& first = *kernels_.front()->a64;
    int64_t activation_bytes = 0, workspace_bytes = 0, m_pad = 0, k_pad = 0;
    for (const auto& kernel : kernels_) {
      SHERRY_CHECK(kernel->a64 != nullptr && kernel->a64->runnable(),
                   "{}: not a runnable AArch64 kernel", kernel->name);
      const ir::ProgramShape& s = kernel->a64->program().shape;
      SHERRY_CHECK(s.row_tile == first.program().shape.row_tile, "{}: row tile differs from {}",
                   kernel->name, kernels_.front()->name);
      activation_bytes = std::max(activation_bytes, kernel->a64->activation_bytes());
      workspace_bytes = std::max(workspace_bytes, kernel->a64->workspace_bytes());
      m_pad = std::max(m_pad, s.m_pad);
      k_pad = std::max(k_pad, s.k_pad);
    }
    weights_ = first.prepare_weights(w);
    activations_.resize(static_cast<size_t>(activation_bytes));
    scratch_.resize(static_cast<size_t>(k_pad));
    out_.resize(static_cast<size_t>(static_cast<int64_t>(kernels_.size()) * m_pad));
    const int threads = pool_ == nullptr ? 1 : pool_->size();
    workspaces_.assign(static_cast<size_t>(threads),
                       std::vector<uint8_t>(static_cast<size_t>(workspace_bytes)));
    run_tiles_ = [this](int64_t begin, int64_t end, int thread) { run_range(begin, end, thread); };
  }

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }

  void forward_quantized(const QuantizedActivations& x, float* y) override {
    SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
    const auto n_tile = static_cast<int64_t>(kernels_.size());
    for (int64_t t0 = 0; t0 < x.tokens; t0 += n_tile) {
      const int64_t tokens = std::min(n_tile, x.tokens - t0);
      kernel_ = kernels_[static_cast<size_t>(tokens - 1)]->a64.get();
      x_scales_ = x.scales.data() + t0;
      const ir::ProgramShape& s = kernel_->program().shape;
      kernel_->prepare_activations(x, t0, activations_.data(), scratch_.data());
      if (pool_ == nullptr || pool_->size() == 1 || s.tiles() == 1) {
        run_range(0, s.tiles(), 0);
      } else {
        pool_->parallel_for(s.tiles(), 1, run_tiles_);
      }
      for (int64_t t = 0; t < tokens; ++t) {
        std::memcpy(y + (t0 + t) * rows_, out_.data() + t * s.m_pad,
                    static_cast<size_t>(rows_) * sizeof(float));
      }
    }
  }

  std::string kernel_name() const override {
    std::string name = kernels_.front()->name;
    if (kernels_.size() > 1) name += " " + kernels_.back()->name;
    return name;
  }

 private:
  void run_range(int64_t begin, int64_t end, int thread) {
    kernel_->run(weights_, activations_.data(), x_scales_, out_.data(),
                 workspaces_[static_cast<size_t>(thread)].data(), begin, end);
  }

  std::vector<std::shared_ptr<const Kernel>> kernels_;
  ThreadPool* pool_;
  A64Weights weights_;
  std::vector<uint8_t> activations_;              // one call's tables or permuted activations
  std::vector<int8_t> scratch_;                   // one token's permuted activations
  std::vector<float> out_;                        // n_tile × m_pad
  std::vector<std::vector<uint8_t>> workspaces_;  // one per thread (sdot decode)
  ThreadPool::RangeBody run_tiles_;
  // The call in progress, read by run_range on every thread.
  const A64Kernel* kernel_ = nullptr;
  const float* x_scales_ = nullptr;
};

}  // namespace

std::unique_ptr<Linear> make_a64_linear(const PackedTensorView& weights,
                                        std::vector<std::shared_ptr<const Kernel>> kernels,
                                        ThreadPool* pool) {
  return std::make_unique<A64Linear>(weights, std::move(kernels), pool);
}

}  // namespace sherry::jit::a64
