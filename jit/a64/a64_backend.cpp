#include "jit/a64/a64_backend.h"

#include <cstring>

#include "ir/tables.h"
#include "jit/a64/a64_executable.h"
#include "jit/a64/a64_lut_gen.h"
#include "jit/a64/a64_lut_layout.h"
#include "jit/a64/a64_paths.h"
#include "jit/a64/a64_sdot_gen.h"

namespace sherry::jit::a64 {
namespace {

// A cached AArch64 kernel: the front end's view over the A64Kernel.
struct A64CachedKernel final : Kernel {
  std::shared_ptr<const A64Kernel> impl;

  std::span<const uint8_t> code_bytes() const override { return impl->code().bytes; }
  const void* code_address() const override { return impl->code_address(); }
};

using A64LayerWeights = OwnedWeights<A64Weights>;

class A64Backend final : public Backend {
 public:
  std::string_view name() const override { return "AArch64"; }
  bool runs_here() const override { return host_is_aarch64(); }

  Result<ir::KernelKey> resolve_key(const ir::KernelKey& key) const override {
    if (!is_a64_isa(key.isa)) {
      return make_error("kernel {}: the {} path has no AArch64 generator", ir::kernel_name(key),
                        ir::to_string(key.isa));
    }
    if (key.op == ir::KernelOp::kDotGemm) {
      return make_error("kernel {}: the dot GEMM family has no AArch64 generator",
                        ir::kernel_name(key));
    }
    return a64::resolve_key(key);
  }

  Result<ir::LoweringTarget> lowering_target(const ir::KernelKey& resolved) const override {
    return a64::lowering_target(resolved);
  }

  int64_t max_n_tile(ir::Isa isa, int64_t row_tile) const override {
    return a64::max_n_tile(isa, row_tile);
  }

  Result<std::unique_ptr<Kernel>> build(const ir::KernelKey& key) const override {
    Result<ir::KernelKey> resolved = resolve_key(key);
    if (!resolved.ok()) return resolved.error();
    Result<A64Kernel> built = A64Kernel::build(*resolved, path_for(*resolved));
    if (!built.ok()) return built.error();
    auto kernel = std::make_unique<A64CachedKernel>();
    kernel->backend = this;
    kernel->key = *resolved;
    kernel->name = built->code().name;
    kernel->program = built->program();
    kernel->impl = std::make_shared<const A64Kernel>(std::move(built).value());
    return std::unique_ptr<Kernel>(std::move(kernel));
  }

  std::unique_ptr<LayerWeights> prepare_weights(const Kernel& kernel,
                                                const PackedTensorView& w) const override {
    A64Weights prepared = as_a64(kernel).prepare_weights(w);
    const auto code = static_cast<int64_t>(prepared.codes.size());
    const auto alpha = static_cast<int64_t>(prepared.alpha.size() * sizeof(float));
    return std::make_unique<A64LayerWeights>(std::move(prepared), code, code + alpha);
  }

  CallSizes call_sizes(const Kernel& kernel) const override {
    const A64Kernel& k = as_a64(kernel);
    const ir::ProgramShape& s = k.program().shape;
    const int64_t out_values = kernel.key.output == ir::OutputMode::kFloat
                                   ? s.n_tile * s.m_pad
                                   : s.tiles() * s.groups * s.n_tile * s.row_tile;
    return {k.activation_bytes(), out_values * 4, s.k_pad, k.workspace_bytes()};
  }

  void prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                     uint8_t* call_activations, int8_t* scratch) const override {
    as_a64(kernel).prepare_token(q, index, call_activations, scratch);
  }

  void run(const Kernel& kernel, const LayerWeights& weights, const CallArgs& call,
           int64_t tile_begin, int64_t tile_end, uint8_t* workspace) const override {
    as_a64(kernel).run(static_cast<const A64LayerWeights&>(weights).value, call.activations,
                       call.scales, call.out, workspace, tile_begin, tile_end);
  }

  void read_accumulators(const Kernel& kernel, const void* out, int64_t tokens,
                         int32_t* acc) const override {
    accumulators_to_reference(as_a64(kernel).program().shape, static_cast<const int32_t*>(out),
                              tokens, acc);
  }
};

}  // namespace

const A64Kernel& as_a64(const Kernel& kernel) {
  SHERRY_CHECK(kernel.backend == &a64_backend(), "{}: not an AArch64 kernel", kernel.name);
  return *static_cast<const A64CachedKernel&>(kernel).impl;
}

const Backend& a64_backend() {
  static const A64Backend backend;
  return backend;
}

}  // namespace sherry::jit::a64
