// The one table of ISA paths. Each row says what a path needs and how its kernels are shaped:
// the CPU features it requires, the backend that generates and runs its code, the weight format
// the backend repacks into, and the register-budget numbers the backend resolves keys with.
// Dispatch walks the rows in order (best first, the scalar reference last); adding a path is one
// row here plus its generator (docs/jit.md, "Adding an ISA path").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "ir/kernel_key.h"

namespace sherry::jit {

enum class CpuFeature : uint8_t {
  kSsse3,
  kFma,
  kAvx2,
  kAvx512f,
  kAvx512bw,
  kAvx512vl,
  kAvx512vbmi,
  kAvx512vnni,
  kF16c,     // x86-64 half-precision conversions (vcvtph2ps)
  kAvxVnni,  // x86-64 AVX-VNNI: VEX-encoded vpdpbusd on 256-bit vectors
  kAsimd,    // AArch64 Advanced SIMD (NEON)
  kDotprod,  // AArch64 FEAT_DotProd (sdot)
};
std::string_view to_string(CpuFeature feature);

// Who generates and runs a path's code (jit/backend.h).
enum class BackendKind : uint8_t {
  kReference,  // no generated code: core's reference kernels
  kX64,        // Xbyak generators, jit/x64/
  kA64,        // asmjit generators, jit/a64/
};

// How a backend lays out the weights and tables of a path (jit/x64/x64_kernel.h, jit/a64/).
enum class WeightFormat : uint8_t {
  kNone,  // the reference reads core's packed tensor as it is
  // x86-64 SSSE3: one byte per (row, block) holding the 5-bit code; 16-entry tables per block as
  // lo/hi byte planes looked up with (v)pshufb, the sign applied after the lookup.
  kCodeBytes,
  // x86-64 AVX2 and AVX-512BW: 1.25 bits/weight for the same pshufb kernels: per step of 4
  // blocks the slots of two code vectors per vector of nibbles (low, high) and the signs as bit
  // planes (8 code vectors per vector of sign bytes); α (fp16) and the negative-block counts in a
  // record ahead of each group, so a row tile is one sequential stream (x64_kernel.h).
  kNibblePlanes,
  // x86-64 AVX-512 VBMI: per step of 4 blocks and 32 rows, 64 bytes of slot nibbles and two
  // 64-bit sign masks; 64-entry tables per step looked up with vpermb; α (fp16) and −Σ signs
  // per row and group in a small header stream beside the weights (x64_kernel.h).
  kNibblesSignMasks,
  // AArch64: 4-bit slots and sign bits per row tile, one layout for the NEON tbl and the sdot
  // kernels (jit/a64/a64_lut_layout.h).
  kA64Nibbles,
};

struct IsaPath {
  ir::Isa isa;
  std::array<CpuFeature, 6> feature_storage;
  int feature_count;
  BackendKind backend;
  WeightFormat format;
  int64_t vector_bytes;        // bytes per vector register (0: none)
  int64_t default_row_tile;    // rows per tile a layer gets unless tuned
  int64_t row_tile_quantum;    // row tiles are multiples of this
  int64_t accumulator_budget;  // kCodeBytes: vector registers left for int16 accumulators
  int64_t max_n_tile;          // tokens per call the kernels hold at the default row tile
  bool int8_tables;            // implements the lossy int8 tables (ir/tables.h)
  // Weight prefetch distance in bytes a key gets unless tuned: measured per path (docs/jit.md,
  // "Prefetch"); 0 where no measurement showed a gain.
  int64_t default_prefetch;
  // Whether the path generates the dot GEMM family (ir::KernelOp::kDotGemm: decode the codes to
  // int8 once per row tile, int8 dot products for every token).
  bool dot_gemm;
  // Calls of at least this many tokens run the dot kernels, fewer the lookup kernels: the
  // crossover measured per path (docs/jit.md, "Dot GEMM family"); 0 where the lookup kernels
  // were faster at every size measured. SHERRY_GEMM=lookup|dot overrides it
  // (jit/gemm_family.h).
  int64_t dot_min_tokens;

  std::span<const CpuFeature> features() const {
    return {feature_storage.data(), static_cast<size_t>(feature_count)};
  }
};

namespace path_detail {
using F = CpuFeature;
template <class... Fs>
constexpr std::array<CpuFeature, 6> features(Fs... fs) {
  return {fs...};
}
}  // namespace path_detail

// Best first; kScalar last. The numbers of the x86-64 rows are checked against the generators'
// own register plans by static_asserts in jit/x64/x64_backend.cpp.
inline constexpr IsaPath kIsaPaths[] = {
    // isa, features, backend, format, vector bytes, default row tile, row quantum,
    // accumulator budget, max n_tile, int8 tables, default prefetch, dot GEMM, from n tokens
    {ir::Isa::kAvx512vbmi,
     path_detail::features(path_detail::F::kAvx512f, path_detail::F::kAvx512bw,
                           path_detail::F::kAvx512vl, path_detail::F::kAvx512vbmi,
                           path_detail::F::kAvx512vnni, path_detail::F::kFma),
     6, BackendKind::kX64, WeightFormat::kNibblesSignMasks, 64, 64, 32, 0, 2, true, 8192, true, 0},
    {ir::Isa::kAvx512bw,
     path_detail::features(path_detail::F::kAvx512f, path_detail::F::kAvx512bw,
                           path_detail::F::kAvx512vl, path_detail::F::kFma),
     4, BackendKind::kX64, WeightFormat::kNibblePlanes, 64, 128, 64, 24, 6, false, 8192, false, 0},
    {ir::Isa::kAvx2Vnni,
     path_detail::features(path_detail::F::kAvx2, path_detail::F::kFma, path_detail::F::kF16c,
                           path_detail::F::kAvxVnni),
     4, BackendKind::kX64, WeightFormat::kNibblePlanes, 32, 64, 32, 8, 2, false, 2048, true, 6},
    {ir::Isa::kAvx2,
     path_detail::features(path_detail::F::kAvx2, path_detail::F::kFma, path_detail::F::kF16c), 3,
     BackendKind::kX64, WeightFormat::kNibblePlanes, 32, 64, 32, 8, 2, false, 2048, false, 0},
    {ir::Isa::kSsse3, path_detail::features(path_detail::F::kSsse3), 1, BackendKind::kX64,
     WeightFormat::kCodeBytes, 16, 32, 16, 8, 2, false, 0, false, 0},
    {ir::Isa::kDotprod, path_detail::features(path_detail::F::kAsimd, path_detail::F::kDotprod), 2,
     BackendKind::kA64, WeightFormat::kA64Nibbles, 16, 16, 16, 0, 8, false, 0, false, 0},
    {ir::Isa::kNeon, path_detail::features(path_detail::F::kAsimd), 1, BackendKind::kA64,
     WeightFormat::kA64Nibbles, 16, 16, 16, 0, 4, false, 0, false, 0},
    {ir::Isa::kScalar, path_detail::features(), 0, BackendKind::kReference, WeightFormat::kNone, 0,
     0, 1, 0, 1, false, 0, false, 0},
};

// The row of an ISA (every ir::Isa has one).
constexpr const IsaPath& isa_path(ir::Isa isa) {
  for (const IsaPath& path : kIsaPaths) {
    if (path.isa == isa) return path;
  }
  return kIsaPaths[std::size(kIsaPaths) - 1];
}

// Whether this build has a backend that runs the path's generated code (kScalar never has).
bool path_runs_in_this_build(const IsaPath& path);

}  // namespace sherry::jit
