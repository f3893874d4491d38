#include "jit/a64/a64_kernel.h"

#include <cstring>

#include "ir/lower.h"
#include "ir/tables.h"
#include "jit/a64/a64_executable.h"
#include "jit/a64/a64_kernel_args.h"
#include "jit/a64/a64_lut_gen.h"
#include "jit/a64/a64_lut_layout.h"
#include "jit/a64/a64_sdot_gen.h"

namespace sherry::jit::a64 {

std::string_view to_string(A64Path path) {
  switch (path) {
    case A64Path::kNeonLut:
      return "neon";
    case A64Path::kSdot:
      return "dotprod";
  }
  return "unknown";
}

Result<A64Kernel> A64Kernel::build(const ir::KernelKey& key, A64Path path, bool with_listing) {
  const ir::LoweringTarget target = path == A64Path::kNeonLut ? neon_lut_target() : sdot_target();
  Result<ir::Program> program = ir::lower(key, target);
  if (!program.ok()) return program.error();
  Result<A64Code> code = path == A64Path::kNeonLut ? generate_neon_lut(*program, with_listing)
                                                   : generate_sdot(*program, with_listing);
  if (!code.ok()) return code.error();
  A64Kernel kernel;
  kernel.program_ = std::move(program).value();
  kernel.code_ = std::move(code).value();
  kernel.path_ = path;
  if (host_is_aarch64()) {
    Result<A64Executable> executable = A64Executable::map(kernel.code_);
    if (!executable.ok()) return executable.error();
    kernel.executable_ = std::make_shared<const A64Executable>(std::move(executable).value());
  }
  return kernel;
}

const void* A64Kernel::code_address() const {
  return executable_ ? reinterpret_cast<const void*>(executable_->function<A64KernelFn>())
                     : nullptr;
}

A64Weights A64Kernel::prepare_weights(const PackedTensorView& w) const {
  const ir::ProgramShape& s = program_.shape;
  NeonLutWeights repacked = repack_neon_lut(w, s);
  A64Weights out;
  out.tile_code_bytes = static_cast<int64_t>(repacked.codes.size()) / s.tiles();
  out.tile_alpha = s.groups * s.row_tile;
  out.codes = std::move(repacked.codes);
  out.alpha = std::move(repacked.alpha);
  return out;
}

int64_t A64Kernel::activation_bytes() const {
  const ir::ProgramShape& s = program_.shape;
  const int64_t per_token =
      path_ == A64Path::kNeonLut ? s.k_pad / kWeightsPerBlock * kFoldedTableBytes : s.k_pad;
  return s.n_tile * per_token;
}

int64_t A64Kernel::workspace_bytes() const {
  if (path_ == A64Path::kNeonLut) return 0;
  return sdot_workspace_bytes(program_.shape);
}

void A64Kernel::prepare_token(const int8_t* q, int64_t index, uint8_t* activations,
                              int8_t* scratch) const {
  const ir::ProgramShape& s = program_.shape;
  SHERRY_CHECK(0 <= index && index < s.n_tile, "{}: token {} of a call of {}", program_.name, index,
               s.n_tile);
  int8_t* permuted = scratch;
  constexpr int64_t kStepBytes = kNeonStepBlocks * kWeightsPerBlock;
  ir::permute_to_block_order(program_.key.layout.grouping, q, s.k, s.k_pad, permuted);
  if (path_ == A64Path::kNeonLut) {
    build_folded_tables(permuted, s.k_pad,
                        activations + index * (s.k_pad / kWeightsPerBlock * kFoldedTableBytes));
  } else {
    for (int64_t step = 0; step < s.k_pad / kStepBytes; ++step) {
      std::memcpy(activations + sdot_activation_offset(s, step, index),
                  permuted + step * kStepBytes, kStepBytes);
    }
  }
}

void A64Kernel::prepare_activations(const QuantizedActivations& x, int64_t first,
                                    uint8_t* activations, int8_t* scratch) const {
  const ir::ProgramShape& s = program_.shape;
  SHERRY_CHECK(x.cols == s.k && first + s.n_tile <= x.tokens, "{}: activations {} x {} from {}",
               program_.name, x.tokens, x.cols, first);
  for (int64_t t = 0; t < s.n_tile; ++t) prepare_token(x.token(first + t), t, activations, scratch);
}

void A64Kernel::run(const A64Weights& w, const uint8_t* activations, const float* x_scales,
                    void* out, uint8_t* workspace, int64_t tile_begin, int64_t tile_end) const {
  SHERRY_CHECK(runnable(), "{}: not runnable on this host", program_.name);
  const ir::ProgramShape& s = program_.shape;
  SHERRY_CHECK(0 <= tile_begin && tile_begin <= tile_end && tile_end <= s.tiles(),
               "{}: tiles [{}, {}) of {}", program_.name, tile_begin, tile_end, s.tiles());
  if (tile_begin == tile_end) return;
  A64KernelArgs args;
  args.weights = w.codes.data() + tile_begin * w.tile_code_bytes;
  args.tables = activations;
  args.alpha = w.alpha.data() + tile_begin * w.tile_alpha;
  if (program_.key.output == ir::OutputMode::kFloat) {
    args.out = static_cast<float*>(out) + tile_begin * s.row_tile;
  } else {
    args.out = static_cast<int32_t*>(out) + tile_begin * s.groups * s.n_tile * s.row_tile;
  }
  args.x_scales = x_scales;
  args.tiles = tile_end - tile_begin;
  args.workspace = workspace;
  executable_->function<A64KernelFn>()(&args);
}

void accumulators_to_reference(const ir::ProgramShape& s, const int32_t* out, int64_t tokens,
                               int32_t* acc) {
  size_t i = 0;
  for (int64_t tile = 0; tile < s.tiles(); ++tile) {
    for (int64_t g = 0; g < s.groups; ++g) {
      for (int64_t t = 0; t < s.n_tile; ++t) {
        for (int64_t r = 0; r < s.row_tile; ++r, ++i) {
          const int64_t row = tile * s.row_tile + r;
          if (row < s.m && t < tokens) acc[(t * s.m + row) * s.groups + g] = out[i];
        }
      }
    }
  }
}

Result<ir::InterpreterResult> run_a64_kernel(const A64Kernel& kernel, const PackedTensorView& w,
                                             const QuantizedActivations& x) {
  const ir::Program& p = kernel.program();
  const ir::ProgramShape& s = p.shape;
  if (w.rows != s.m || w.cols != s.k || !(w.layout == p.key.layout)) {
    return make_error("{}: weights are {} x {}, the kernel expects {} x {} in its layout", p.name,
                      w.rows, w.cols, s.m, s.k);
  }
  if (x.cols != s.k || x.tokens != s.n_tile) {
    return make_error("{}: activations are {} tokens x {} cols, the kernel expects {} x {}", p.name,
                      x.tokens, x.cols, s.n_tile, s.k);
  }
  if (!kernel.runnable()) return make_error("{}: AArch64 code cannot run on this host", p.name);
  const A64Weights weights = kernel.prepare_weights(w);
  std::vector<uint8_t> activations(static_cast<size_t>(kernel.activation_bytes()));
  std::vector<int8_t> scratch(static_cast<size_t>(s.k_pad));
  kernel.prepare_activations(x, 0, activations.data(), scratch.data());
  std::vector<uint8_t> workspace(static_cast<size_t>(kernel.workspace_bytes()));
  ir::InterpreterResult result;
  if (p.key.output == ir::OutputMode::kFloat) {
    std::vector<float> y(static_cast<size_t>(s.n_tile * s.m_pad));
    kernel.run(weights, activations.data(), x.scales.data(), y.data(), workspace.data(), 0,
               s.tiles());
    result.y.resize(static_cast<size_t>(s.n_tile * s.m));
    for (int64_t t = 0; t < s.n_tile; ++t) {
      std::memcpy(&result.y[t * s.m], &y[t * s.m_pad], static_cast<size_t>(s.m) * sizeof(float));
    }
  } else {
    std::vector<int32_t> acc(static_cast<size_t>(s.tiles() * s.groups * s.n_tile * s.row_tile));
    kernel.run(weights, activations.data(), x.scales.data(), acc.data(), workspace.data(), 0,
               s.tiles());
    result.acc.resize(static_cast<size_t>(s.n_tile * s.m * s.groups));
    accumulators_to_reference(s, acc.data(), s.n_tile, result.acc.data());
  }
  return result;
}

}  // namespace sherry::jit::a64
