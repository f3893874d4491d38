#include "jit/a64/a64_backend.h"

#include <chrono>
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

class A64LayerWeights final : public LayerWeights {
 public:
  explicit A64LayerWeights(A64Weights weights) : w(std::move(weights)) {
    code_bytes = static_cast<int64_t>(w.codes.size());
    stream_bytes = code_bytes + static_cast<int64_t>(w.alpha.size() * sizeof(float));
  }
  std::unique_ptr<LayerWeights> copy() const override {
    return std::make_unique<A64LayerWeights>(w);
  }

  A64Weights w;
};

class A64Backend final : public Backend {
 public:
  std::string_view name() const override { return "AArch64"; }
  bool runs_here() const override { return host_is_aarch64(); }

  Result<ir::KernelKey> resolve_key(const ir::KernelKey& key) const override {
    if (!is_a64_isa(key.isa)) {
      return make_error("kernel {}: the {} path has no AArch64 generator", ir::kernel_name(key),
                        ir::to_string(key.isa));
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
    const auto start = std::chrono::steady_clock::now();
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
    kernel->jit_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count();
    return std::unique_ptr<Kernel>(std::move(kernel));
  }

  std::unique_ptr<LayerWeights> prepare_weights(const Kernel& kernel,
                                                const PackedTensorView& w) const override {
    return std::make_unique<A64LayerWeights>(as_a64(kernel).prepare_weights(w));
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
    as_a64(kernel).run(static_cast<const A64LayerWeights&>(weights).w, call.activations,
                       call.scales, call.out, workspace, tile_begin, tile_end);
  }

  void read_accumulators(const Kernel& kernel, const void* out, int64_t tokens,
                         int32_t* acc) const override {
    const ir::ProgramShape& s = as_a64(kernel).program().shape;
    const auto* src = static_cast<const int32_t*>(out);
    size_t i = 0;
    for (int64_t tile = 0; tile < s.tiles(); ++tile) {
      for (int64_t g = 0; g < s.groups; ++g) {
        for (int64_t t = 0; t < s.n_tile; ++t) {
          for (int64_t r = 0; r < s.row_tile; ++r, ++i) {
            const int64_t row = tile * s.row_tile + r;
            if (row < s.m && t < tokens) acc[(t * s.m + row) * s.groups + g] = src[i];
          }
        }
      }
    }
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
