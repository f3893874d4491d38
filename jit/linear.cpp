#include "jit/linear.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/reference_kernels.h"
#include "jit/a64/a64_linear.h"
#include "jit/a64/a64_paths.h"
#include "jit/aligned_buffer.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "jit/kernel_cache.h"
#include "jit/table_builder.h"
#include "jit/weight_repack.h"

namespace sherry::jit {
namespace {

// The reference backend: core's integer semantics (quantize per token, accumulate, scale).
class ReferenceLinear final : public Linear {
 public:
  explicit ReferenceLinear(const PackedTensorView& w)
      : Linear(w.rows, w.cols),
        weights_{
            w.rows, w.cols, w.layout,
            std::vector<uint8_t>(w.codes, w.codes + w.rows * w.row_bytes()),
            std::vector<uint16_t>(w.scales, w.scales + scale_count(w.layout, w.rows, w.cols))} {}

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }

  void forward_quantized(const QuantizedActivations& x, float* y) override {
    const PackedTensorView w = weights_.view();
    acc_.resize(x.tokens * rows_ * scale_groups_per_row(w.layout, cols_));
    reference_accumulate_i32(w, x, acc_.data());
    reference_scale_accumulators(w, x, acc_.data(), y);
  }

  std::string kernel_name() const override { return "reference_i8"; }

 private:
  PackedTensor weights_;
  std::vector<int32_t> acc_;  // tokens × rows × groups
};

// A layer on generated kernels: kernels_[n - 1] serves calls of n tokens (1 .. max n_tile),
// all sharing one repacking of the weights.
class JitLinear final : public Linear {
 public:
  JitLinear(const PackedTensorView& w, std::vector<std::shared_ptr<const Kernel>> kernels,
            ThreadPool* pool)
      : Linear(w.rows, w.cols),
        grouping_(w.layout.grouping),
        kernels_(std::move(kernels)),
        layout_(kernels_.front()->layout),
        weights_(repack_weights(w, layout_)),
        pool_(pool) {
    scratch_.resize(static_cast<size_t>(layout_.k_pad));
  }

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }

  void forward_quantized(const QuantizedActivations& x, float* y) override {
    SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
    const int64_t n = x.tokens;
    if (tables_.size() < static_cast<size_t>(n * layout_.table_bytes)) {
      tables_.resize(static_cast<size_t>(n * layout_.table_bytes));
    }
    for (int64_t t = 0; t < n; ++t) {
      build_tables(layout_, grouping_, x.token(t), cols_, scratch_.data(),
                   tables_.data() + t * layout_.table_bytes);
    }
    const int64_t n_tile = static_cast<int64_t>(kernels_.size());
    if (out_.size() < static_cast<size_t>(n_tile * layout_.m_pad)) {
      out_.resize(static_cast<size_t>(n_tile * layout_.m_pad));
    }
    for (int64_t t0 = 0; t0 < n; t0 += n_tile) {
      const int64_t tokens = std::min(n_tile, n - t0);
      const Kernel& kernel = *kernels_[tokens - 1];
      KernelArgs args{weights_.weights.data(),
                      weights_.alpha.data(),
                      weights_.nneg.data(),
                      tables_.data() + t0 * layout_.table_bytes,
                      x.scales.data() + t0,
                      out_.data(),
                      0,
                      layout_.tiles};
      if (pool_ == nullptr || pool_->size() == 1 || layout_.tiles == 1) {
        kernel.run(args);
      } else {
        pool_->parallel_for(layout_.tiles, 1, [&](int64_t begin, int64_t end, int) {
          KernelArgs part = args;
          part.tile_begin = begin;
          part.tile_end = end;
          kernel.run(part);
        });
      }
      for (int64_t t = 0; t < tokens; ++t) {
        std::memcpy(y + (t0 + t) * rows_, out_.data() + t * layout_.m_pad,
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
  BlockGrouping grouping_;
  std::vector<std::shared_ptr<const Kernel>> kernels_;
  KernelLayout layout_;
  RepackedWeights weights_;
  ThreadPool* pool_;
  AlignedBuffer<int8_t> scratch_;
  AlignedBuffer<uint8_t> tables_;
  AlignedBuffer<float> out_;
};

// The kernels of one ISA path for the layer, or why the path cannot serve it.
Result<std::vector<std::shared_ptr<const Kernel>>> path_kernels(const PackedTensorView& w,
                                                                ir::Isa isa, int64_t max_tokens) {
  ir::KernelKey key;
  key.op = ir::KernelOp::kGemv;
  key.isa = isa;
  key.m = w.rows;
  key.k = w.cols;
  key.layout = w.layout;
  Result<ir::KernelKey> resolved = resolve_kernel_key(key);
  if (!resolved.ok()) return resolved.error();
  const int64_t n_tile =
      std::max<int64_t>(1, std::min(max_tokens, max_n_tile(isa, resolved->tuning.row_tile)));
  std::vector<std::shared_ptr<const Kernel>> kernels;
  for (int64_t n = 1; n <= n_tile; ++n) {
    ir::KernelKey k = *resolved;
    k.op = n == 1 ? ir::KernelOp::kGemv : ir::KernelOp::kGemm;
    k.n_tile = n;
    Result<std::shared_ptr<const Kernel>> kernel = KernelCache::global().get(k);
    if (!kernel.ok()) return kernel.error();
    kernels.push_back(*kernel);
  }
  return kernels;
}

}  // namespace

Result<std::unique_ptr<Linear>> make_linear(const PackedTensorView& weights,
                                            const LinearOptions& options) {
  const std::string what = options.name.empty() ? "matrix" : options.name;
  SHERRY_TRY(validate_layout(weights.layout, weights.rows, weights.cols, what));
  if (options.backend == KernelBackend::kReference) {
    return std::unique_ptr<Linear>(new ReferenceLinear(weights));
  }
  std::vector<std::string> rejected;
  for (const ir::Isa isa : isa_preference()) {
    std::string why;
    if (!isa_allowed(isa, host_cpu(), &why)) {
      rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), why));
      continue;
    }
    std::unique_ptr<Linear> linear;
    if (isa == ir::Isa::kScalar) {
      linear.reset(new ReferenceLinear(weights));
    } else {
      auto kernels = path_kernels(weights, isa, std::max<int64_t>(1, options.max_tokens));
      if (!kernels.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), kernels.error().message()));
        continue;
      }
      if (a64::is_a64_isa(isa)) {
        linear = a64::make_a64_linear(weights, std::move(*kernels), options.pool);
      } else {
        linear.reset(new JitLinear(weights, std::move(*kernels), options.pool));
      }
    }
    if (verbose_dispatch()) {
      std::fprintf(stderr, "sherry dispatch: %s (%lld x %lld): %s%s%s\n", what.c_str(),
                   static_cast<long long>(weights.rows), static_cast<long long>(weights.cols),
                   linear->kernel_name().c_str(), rejected.empty() ? "" : "; rejected ",
                   fmt::format("{}", fmt::join(rejected, "; ")).c_str());
    }
    return linear;
  }
  return make_error("{}: no kernel path accepts it", what);  // unreachable: scalar always runs
}

}  // namespace sherry::jit
