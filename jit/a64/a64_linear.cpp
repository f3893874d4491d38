#include "jit/a64/a64_linear.h"

#include <algorithm>
#include <cstring>

#include "jit/a64/a64_kernel.h"

namespace sherry::jit::a64 {
namespace {

class A64Linear final : public Linear {
 public:
  A64Linear(const PackedTensorView& w, std::vector<std::shared_ptr<const Kernel>> kernels,
            ThreadPool* pool)
      : Linear(w.rows, w.cols), kernels_(std::move(kernels)), pool_(pool) {
    const A64Kernel& first = *kernels_.front()->a64;
    for (const auto& kernel : kernels_) {
      SHERRY_CHECK(kernel->a64 != nullptr && kernel->a64->runnable(),
                   "{}: not a runnable AArch64 kernel", kernel->name);
      SHERRY_CHECK(kernel->a64->program().shape.row_tile == first.program().shape.row_tile,
                   "{}: row tile differs from {}", kernel->name, kernels_.front()->name);
    }
    weights_ = first.prepare_weights(w);
    const int threads = pool_ == nullptr ? 1 : pool_->size();
    workspaces_.resize(static_cast<size_t>(threads));
  }

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }

  void forward_quantized(const QuantizedActivations& x, float* y) override {
    SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
    const auto n_tile = static_cast<int64_t>(kernels_.size());
    for (int64_t t0 = 0; t0 < x.tokens; t0 += n_tile) {
      const int64_t tokens = std::min(n_tile, x.tokens - t0);
      const A64Kernel& kernel = *kernels_[static_cast<size_t>(tokens - 1)]->a64;
      const ir::ProgramShape& s = kernel.program().shape;
      activations_.resize(static_cast<size_t>(kernel.activation_bytes()));
      kernel.prepare_activations(x, t0, activations_.data());
      out_.resize(static_cast<size_t>(tokens * s.m_pad));
      for (auto& workspace : workspaces_) {
        workspace.resize(static_cast<size_t>(kernel.workspace_bytes()));
      }
      auto run = [&](int64_t begin, int64_t end, int thread) {
        kernel.run(weights_, activations_.data(), x.scales.data() + t0, out_.data(),
                   workspaces_[static_cast<size_t>(thread)].data(), begin, end);
      };
      if (pool_ == nullptr || pool_->size() == 1 || s.tiles() == 1) {
        run(0, s.tiles(), 0);
      } else {
        pool_->parallel_for(s.tiles(), 1, run);
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
  std::vector<std::shared_ptr<const Kernel>> kernels_;
  ThreadPool* pool_;
  A64Weights weights_;
  std::vector<uint8_t> activations_;
  std::vector<float> out_;
  std::vector<std::vector<uint8_t>> workspaces_;  // one per thread (sdot decode)
};

}  // namespace

std::unique_ptr<Linear> make_a64_linear(const PackedTensorView& weights,
                                        std::vector<std::shared_ptr<const Kernel>> kernels,
                                        ThreadPool* pool) {
  return std::make_unique<A64Linear>(weights, std::move(kernels), pool);
}

}  // namespace sherry::jit::a64
