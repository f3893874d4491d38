#include "jit/linear.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/reference_kernels.h"
#include "jit/cpu_detect.h"
#include "jit/gemm_family.h"
#include "jit/kernel_build.h"
#include "jit/kernel_cache.h"
#include "jit/kernel_linear.h"
#include "jit/path_log.h"

namespace sherry::jit {
namespace {

using ReferenceWeights = OwnedWeights<PackedTensor>;

// The reference backend: core's integer semantics (quantize per token, accumulate, scale).
class ReferenceLinear final : public Linear {
 public:
  explicit ReferenceLinear(const PackedTensorView& w)
      : Linear(w.rows, w.cols),
        weights_(PackedTensor{w.rows, w.cols, w.layout,
                              std::vector<uint8_t>(w.codes, w.codes + w.rows * w.row_bytes()),
                              std::vector<uint16_t>(
                                  w.scales, w.scales + scale_count(w.layout, w.rows, w.cols))},
                 w.rows * w.row_bytes(),
                 w.rows * w.row_bytes() + scale_count(w.layout, w.rows, w.cols) *
                                              static_cast<int64_t>(sizeof(uint16_t))) {
    log_path_used("kernel", ir::to_string(ir::Isa::kScalar));
  }

  void run_with(const LayerWeights& weights, const QuantizedActivations& x, float* y) override {
    const PackedTensorView w = static_cast<const ReferenceWeights&>(weights).value.view();
    acc_.resize(x.tokens * rows_ * scale_groups_per_row(w.layout, cols_));
    reference_accumulate_i32(w, x, acc_.data());
    reference_scale_accumulators(w, x, acc_.data(), y);
  }
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override {
    reference_accumulate_i32(weights_.value.view(), x, acc);
  }
  const LayerWeights& weights() const override { return weights_; }
  std::string kernel_name() const override { return "reference_i8"; }
  ir::Isa isa() const override { return ir::Isa::kScalar; }

 private:
  ReferenceWeights weights_;
  std::vector<int32_t> acc_;  // tokens × rows × groups
};

// The dot kernel of a layer whose lookup kernels were built from `requested` (resolved to
// `lookup`), when the path has one and SHERRY_GEMM allows it; otherwise the reason is kept for
// SHERRY_VERBOSE=dispatch. A dot kernel that does not build leaves the lookup kernels to serve.
void attach_dot_kernel(KernelLinear& linear, const ir::KernelKey& requested,
                       const ir::KernelKey& lookup, int threads, const LinearOptions& options) {
  Result<GemmFamily> family = gemm_family();
  if (!family.ok()) {
    linear.set_no_dot_reason(family.error().message());
    return;
  }
  const int64_t min_tokens = dot_min_tokens(lookup.isa, *family);
  if (min_tokens == 0) {
    const IsaPath& path = isa_path(lookup.isa);
    linear.set_no_dot_reason(
        !path.dot_gemm ? fmt::format("no dot family on {}", ir::to_string(lookup.isa))
        : *family == GemmFamily::kLookup
            ? std::string("SHERRY_GEMM=lookup")
            : fmt::format("the lookup kernels were faster at every size measured on {} "
                          "(SHERRY_GEMM=dot uses the dot kernels)",
                          ir::to_string(lookup.isa)));
    return;
  }
  if (options.max_tokens < min_tokens) {
    linear.set_no_dot_reason(fmt::format("at most {} tokens per forward, the dot kernels from {}",
                                         options.max_tokens, min_tokens));
    return;
  }
  // The same key and tuning (the tuning file's entry or the caller's), one call for the batch.
  ir::KernelKey key = requested;
  key.op = ir::KernelOp::kDotGemm;
  key.n_tile = options.max_tokens;
  key.table = ir::TablePrecision::kInt16Exact;
  Result<ir::KernelKey> resolved = resolve_kernel_key(key, threads);
  if (resolved.ok() && resolved->tuning.row_tile != lookup.tuning.row_tile) {
    // A tuning whose row tile the lookup kernels could not take: the dot kernel follows theirs.
    key.tuning = lookup.tuning;
    resolved = resolve_kernel_key(key, threads);
  }
  Result<std::shared_ptr<const Kernel>> dot =
      resolved.ok() ? KernelCache::global().get(*resolved)
                    : Result<std::shared_ptr<const Kernel>>(resolved.error());
  if (!dot.ok()) {
    linear.set_no_dot_reason(dot.error().message());
    return;
  }
  linear.set_dot_kernel(std::move(*dot), min_tokens);
}

// The layer on one path's generated kernels, or why the path cannot serve it.
Result<std::unique_ptr<Linear>> path_linear(const PackedTensorView& w, ir::Isa isa,
                                            const LinearOptions& options) {
  ir::KernelKey key;
  key.op = ir::KernelOp::kGemv;
  key.isa = isa;
  key.m = w.rows;
  key.k = w.cols;
  key.layout = w.layout;
  key.table = options.table_precision;
  if (options.tuning) key.tuning = *options.tuning;
  const int threads = options.pool == nullptr ? 1 : options.pool->size();
  Result<ir::KernelKey> resolved = resolve_kernel_key(key, threads);
  if (!resolved.ok() && key.table != ir::TablePrecision::kInt16Exact) {
    key.table = ir::TablePrecision::kInt16Exact;  // the path has no int8 tables: stay exact
    resolved = resolve_kernel_key(key, threads);
  }
  if (!resolved.ok()) return resolved.error();
  Result<LayerKernels> kernels = layer_kernels(*resolved, options.max_tokens);
  if (!kernels.ok()) return kernels.error();
  auto linear =
      std::make_unique<KernelLinear>(w, std::move(*kernels), options.pool, 0, options.call_buffers);
  attach_dot_kernel(*linear, key, *resolved, threads, options);
  return std::unique_ptr<Linear>(std::move(linear));
}

}  // namespace

void report_dispatch(const LinearOptions& options, const Linear& linear,
                     const std::vector<std::string>& rejected) {
  if (!verbose_dispatch()) return;
  const std::string what = options.name.empty() ? "matrix" : options.name;
  const std::string gemm = linear.gemm_choice();
  std::fprintf(stderr, "sherry dispatch: %s (%lld x %lld): %s%s%s%s%s\n", what.c_str(),
               static_cast<long long>(linear.rows()), static_cast<long long>(linear.cols()),
               linear.kernel_name().c_str(), gemm.empty() ? "" : "; gemm: ", gemm.c_str(),
               rejected.empty() ? "" : "; rejected ",
               fmt::format("{}", fmt::join(rejected, "; ")).c_str());
}

Result<std::unique_ptr<Linear>> make_linear(const PackedTensorView& weights,
                                            const LinearOptions& options) {
  const std::string what = options.name.empty() ? "matrix" : options.name;
  SHERRY_TRY(validate_layout(weights.layout, weights.rows, weights.cols, what));
  if (options.backend == KernelBackend::kReference) {
    return std::unique_ptr<Linear>(new ReferenceLinear(weights));
  }
  std::vector<std::string> rejected;
  for (const ir::Isa isa : isa_preference()) {
    if (options.isa && isa != *options.isa) continue;
    std::string why;
    if (!isa_allowed(isa, host_cpu(), &why)) {
      rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), why));
      continue;
    }
    std::unique_ptr<Linear> linear;
    if (isa_path(isa).backend == BackendKind::kReference) {
      linear.reset(new ReferenceLinear(weights));
    } else {
      Result<std::unique_ptr<Linear>> built = path_linear(weights, isa, options);
      if (!built.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), built.error().message()));
        continue;
      }
      linear = std::move(*built);
    }
    report_dispatch(options, *linear, rejected);
    return linear;
  }
  if (options.isa) {
    return make_error("{}: the {} path cannot serve it: {}", what, ir::to_string(*options.isa),
                      fmt::join(rejected, "; "));
  }
  return make_error("{}: no kernel path accepts it", what);  // unreachable: scalar always runs
}

}  // namespace sherry::jit
