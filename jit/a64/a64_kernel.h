// An AArch64 kernel ready to run: the lowered program (ir/lower.h), its generated code and, on an
// AArch64 host, the mapped executable; plus the host-side parts of the program: weight repacking,
// the per-token prologue (block-order permutation, tables) and the split into row tiles.
//
// Paths (each a feature set, jit/cpu_detect.h): kNeonLut needs Advanced SIMD only (tbl lookups,
// int16 accumulation); kSdot needs the dot-product extension (weights decoded to int8 per group,
// then sdot against the activations, int32 accumulation). Both read the same repacked weights.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/activation_quant.h"
#include "core/error.h"
#include "core/packed_tensor.h"
#include "ir/interpreter.h"
#include "ir/kernel_key.h"
#include "ir/program.h"
#include "jit/a64/a64_code.h"

namespace sherry::jit::a64 {

enum class A64Path : uint8_t { kNeonLut, kSdot };
std::string_view to_string(A64Path path);  // "neon" | "dotprod"

// Weights prepared once per layer (jit/a64/a64_lut_layout.h), valid for either path.
struct A64Weights {
  std::vector<uint8_t> codes;
  std::vector<float> alpha;
  int64_t tile_code_bytes = 0;  // per row tile
  int64_t tile_alpha = 0;       // α values per row tile
};

class A64Executable;

class A64Kernel {
 public:
  // Errors: a key the lowering or the generator rejects (the message names the kernel).
  static Result<A64Kernel> build(const ir::KernelKey& key, A64Path path, bool with_listing = false);

  const ir::Program& program() const { return program_; }
  const A64Code& code() const { return code_; }
  A64Path path() const { return path_; }
  bool runnable() const { return executable_ != nullptr; }
  // Where the code runs (nullptr unless runnable()): for perf maps.
  const void* code_address() const;

  A64Weights prepare_weights(const PackedTensorView& w) const;

  // Per call buffers: activations of n_tile tokens (LUT tables or permuted int8) and the sdot
  // workspace (one group of decoded weights).
  int64_t activation_bytes() const;
  int64_t workspace_bytes() const;
  // The host prologue for tokens [first, first + n_tile) of x; `scratch` holds k_pad bytes
  // (the permuted activations of one token), so the call allocates nothing.
  void prepare_activations(const QuantizedActivations& x, int64_t first, uint8_t* activations,
                           int8_t* scratch) const;
  // The same for one token: token `index` of the call, its int8 activations `q` (k values).
  void prepare_token(const int8_t* q, int64_t index, uint8_t* activations, int8_t* scratch) const;

  // Runs row tiles [tile_begin, tile_end). `out`: float output, n_tile × m_pad floats
  // (token-major); accumulator output, tiles × groups × n_tile × row_tile int32 (tile-major).
  // Only on an AArch64 host (runnable()).
  void run(const A64Weights& w, const uint8_t* activations, const float* x_scales, void* out,
           uint8_t* workspace, int64_t tile_begin, int64_t tile_end) const;

 private:
  A64Kernel() = default;
  ir::Program program_;
  A64Code code_;
  A64Path path_ = A64Path::kNeonLut;
  std::shared_ptr<const A64Executable> executable_;
};

// Accumulator output of a call (tiles × groups × n_tile × row_tile, tile-major) for its first
// `tokens` tokens into core's reference layout acc[(t·m + row)·groups + g].
void accumulators_to_reference(const ir::ProgramShape& shape, const int32_t* out, int64_t tokens,
                               int32_t* acc);

// One whole call of a kernel (x holds n_tile tokens), results in core's reference layouts:
// what the differential tests compare with ir::interpret and core's reference kernels.
Result<ir::InterpreterResult> run_a64_kernel(const A64Kernel& kernel, const PackedTensorView& w,
                                             const QuantizedActivations& x);

}  // namespace sherry::jit::a64
