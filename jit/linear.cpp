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
    const int threads = pool_ == nullptr ? 1 : pool_->size();
    scratch_.resize(static_cast<size_t>(threads * layout_.k_pad));
  }

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }

  void forward_quantized(const QuantizedActivations& x, float* y) override {
    SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
    const int64_t n = x.tokens;
    const int64_t n_tile = static_cast<int64_t>(kernels_.size());
    if (tables_.size() < static_cast<size_t>(n * layout_.table_bytes)) {
      tables_.resize(static_cast<size_t>(n * layout_.table_bytes));
    }
    if (out_.size() < static_cast<size_t>(n * layout_.m_pad)) {
      out_.resize(static_cast<size_t>(n * layout_.m_pad));
    }
    const int threads = pool_ == nullptr ? 1 : pool_->size();
    // Tables per token, split over the threads when there are several tokens.
    auto build = [&](int64_t begin, int64_t end, int thread) {
      int8_t* scratch = scratch_.data() + thread * layout_.k_pad;
      for (int64_t t = begin; t < end; ++t) {
        build_tables(layout_, grouping_, x.token(t), cols_, scratch,
                     tables_.data() + t * layout_.table_bytes);
      }
    };
    // Each thread runs its row tiles for every token tile: its weights stay in its cache.
    auto compute = [&](int64_t begin, int64_t end, int) {
      for (int64_t t0 = 0; t0 < n; t0 += n_tile) {
        const int64_t tokens = std::min(n_tile, n - t0);
        const KernelArgs args{weights_.weights.data(),
                              weights_.alpha.data(),
                              weights_.nneg.data(),
                              tables_.data() + t0 * layout_.table_bytes,
                              x.scales.data() + t0,
                              out_.data() + t0 * layout_.m_pad,
                              begin,
                              end};
        kernels_[tokens - 1]->run(args);
      }
    };
    if (threads == 1 || layout_.tiles == 1) {
      build(0, n, 0);
      compute(0, layout_.tiles, 0);
    } else {
      if (n > 1) {
        pool_->parallel_for(n, 1, build);
      } else {
        build(0, n, 0);
      }
      pool_->parallel_for(layout_.tiles, 1, compute);
    }
    for (int64_t t = 0; t < n; ++t) {
      std::memcpy(y + t * rows_, out_.data() + t * layout_.m_pad,
                  static_cast<size_t>(rows_) * sizeof(float));
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
  AlignedBuffer<int8_t> scratch_;  // k_pad per thread: block-order activations
  AlignedBuffer<uint8_t> tables_;  // table_bytes per token
  AlignedBuffer<float> out_;       // m_pad per token
};

// The kernels of one ISA path for the layer, or why the path cannot serve it.
Result<std::vector<std::shared_ptr<const Kernel>>> path_kernels(const PackedTensorView& w,
                                                                ir::Isa isa,
                                                                const LinearOptions& options) {
  const int64_t max_tokens = std::max<int64_t>(1, options.max_tokens);
  ir::KernelKey key;
  key.op = ir::KernelOp::kGemv;
  key.isa = isa;
  key.m = w.rows;
  key.k = w.cols;
  key.layout = w.layout;
  key.table = options.table_precision;
  Result<ir::KernelKey> resolved = resolve_kernel_key(key);
  if (!resolved.ok() && key.table != ir::TablePrecision::kInt16Exact) {
    key.table = ir::TablePrecision::kInt16Exact;  // the path has no int8 tables: stay exact
    resolved = resolve_kernel_key(key);
  }
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
      auto kernels = path_kernels(weights, isa, options);
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
