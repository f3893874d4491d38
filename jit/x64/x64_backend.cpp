#include "jit/x64/emit_kernel.h"

#include <chrono>

#include "ir/verifier.h"
#include "jit/x64/isa_traits.h"
#include "jit/x64/lut_code_bytes_gen.h"
#include "jit/x64/lut_nibble_gen.h"

namespace sherry::jit::x64 {
namespace {

using ir::Isa;

constexpr size_t kCodeCapacity = 256 * 1024;
constexpr int64_t kMaxRowVectors = 4;  // default row vectors per tile (code-bytes family)

int64_t vector_bytes(Isa isa) {
  switch (isa) {
    case Isa::kSsse3:
      return Ssse3Traits::kVectorBytes;
    case Isa::kAvx2:
      return Avx2Traits::kVectorBytes;
    case Isa::kAvx512bw:
      return Avx512bwTraits::kVectorBytes;
    case Isa::kAvx512vbmi:
      return Avx512vbmiTraits::kVectorBytes;
    case Isa::kScalar:
    case Isa::kNeon:
    case Isa::kDotprod:
      return 0;
  }
  return 0;
}

int64_t accumulator_budget(Isa isa) {
  switch (isa) {
    case Isa::kSsse3:
      return code_bytes_accumulator_budget<Ssse3Traits>();
    case Isa::kAvx2:
      return code_bytes_accumulator_budget<Avx2Traits>();
    case Isa::kAvx512bw:
      return code_bytes_accumulator_budget<Avx512bwTraits>();
    case Isa::kAvx512vbmi:
    case Isa::kScalar:
    case Isa::kNeon:
    case Isa::kDotprod:
      return 0;
  }
  return 0;
}

WeightFormat format_of(Isa isa) {
  return isa == Isa::kAvx512vbmi ? WeightFormat::kNibblesSignMasks : WeightFormat::kCodeBytes;
}

// Rows per tile that fit the registers for n tokens (0 when none does).
int64_t max_row_tile(Isa isa, int64_t n_tile) {
  if (format_of(isa) == WeightFormat::kNibblesSignMasks) {
    return std::min(kNibbleMaxPairs, kNibbleAccumulatorQuads / n_tile) * kNibbleRowsPerPair;
  }
  return accumulator_budget(isa) / (2 * n_tile) * vector_bytes(isa);
}

// The layer's row tile (shared by its GEMV and GEMM kernels: one repacking): two row vectors.
int64_t default_row_tile(Isa isa) {
  if (format_of(isa) == WeightFormat::kNibblesSignMasks) return 2 * kNibbleRowsPerPair;
  return 2 * vector_bytes(isa);
}

KernelLayout layout_of(const ir::Program& program) {
  const ir::ProgramShape& s = program.shape;
  KernelLayout layout;
  layout.format = format_of(program.key.isa);
  layout.table = program.key.table;
  layout.vector_bytes = vector_bytes(program.key.isa);
  layout.row_tile = s.row_tile;
  layout.m_pad = s.m_pad;
  layout.k_pad = s.k_pad;
  layout.groups = s.groups;
  layout.tiles = s.tiles();
  const int64_t steps = s.k_pad / (4 * s.blocks_per_step);
  if (layout.format == WeightFormat::kNibblesSignMasks) {
    layout.step_weight_bytes = s.row_tile / kNibbleRowsPerPair * kNibblePairBytes;
    const bool int8 = program.key.table == ir::TablePrecision::kInt8Lossy;
    layout.step_table_bytes = int8 ? 64 : 2 * 64;
    layout.group_tail_bytes = int8 ? 64 : 0;
  } else {
    layout.step_weight_bytes = s.blocks_per_step * s.row_tile;
    layout.step_table_bytes = s.blocks_per_step * 32;
  }
  layout.tile_weight_bytes = steps * layout.step_weight_bytes;
  layout.table_bytes = steps * layout.step_table_bytes + s.groups * layout.group_tail_bytes;
  layout.out_token_bytes =
      program.key.output == ir::OutputMode::kFloat ? s.m_pad * 4 : s.groups * s.m_pad * 4;
  return layout;
}

template <class Generator>
Result<size_t> generate(const ir::Program& program, const KernelLayout& layout, uint8_t* buffer) {
  try {
    Generator generator(program, layout, buffer, kCodeCapacity);
    generator.generate();
    return generator.getSize();
  } catch (const Xbyak::Error& error) {
    return make_error("kernel {}: code generation failed: {}", program.name, error.what());
  }
}

}  // namespace

int64_t max_n_tile(Isa isa, int64_t row_tile) {
  if (row_tile == 0) row_tile = default_row_tile(isa);
  if (format_of(isa) == WeightFormat::kNibblesSignMasks) {
    return kNibbleAccumulatorQuads / std::max<int64_t>(1, row_tile / kNibbleRowsPerPair);
  }
  return accumulator_budget(isa) / (2 * std::max<int64_t>(1, row_tile / vector_bytes(isa)));
}

Result<ir::KernelKey> resolve_key(ir::KernelKey key) {
  if (key.isa == Isa::kScalar) {
    return make_error("kernel {}: the scalar path runs the reference kernels, no generated code",
                      ir::kernel_name(key));
  }
  if (key.isa == Isa::kNeon || key.isa == Isa::kDotprod) {
    return make_error("kernel {}: an AArch64 path has no x86-64 generator", ir::kernel_name(key));
  }
  if (key.table == ir::TablePrecision::kInt8Lossy &&
      format_of(key.isa) != WeightFormat::kNibblesSignMasks) {
    return make_error("kernel {}: int8 tables are generated for avx512vbmi only",
                      ir::kernel_name(key));
  }
  if (key.tuning.row_tile == 0) key.tuning.row_tile = default_row_tile(key.isa);
  const int64_t quantum = format_of(key.isa) == WeightFormat::kNibblesSignMasks
                              ? kNibbleRowsPerPair
                              : vector_bytes(key.isa);
  if (key.tuning.row_tile % quantum != 0 ||
      key.tuning.row_tile > max_row_tile(key.isa, key.n_tile)) {
    return make_error(
        "kernel {}: row tile {} must be a multiple of {} and at most {} for n_tile {} on {}",
        ir::kernel_name(key), key.tuning.row_tile, quantum, max_row_tile(key.isa, key.n_tile),
        key.n_tile, ir::to_string(key.isa));
  }
  return key;
}

Result<ir::LoweringTarget> lowering_target(const ir::KernelKey& key) {
  ir::LoweringTarget target;
  target.blocks_per_step = 4;
  target.row_tile = default_row_tile(key.isa);
  if (format_of(key.isa) == WeightFormat::kNibblesSignMasks) {
    target.row_tile_quantum = kNibbleRowsPerPair;
    target.lookup = ir::LookupMode::kSignAfterLookup;  // the sign multiplies in vpdpbusd
    target.accumulate_i16 = false;
  } else {
    target.row_tile_quantum = vector_bytes(key.isa);
    target.lookup = ir::LookupMode::kSignAfterLookup;
    target.accumulate_i16 = true;
  }
  return target;
}

Result<std::unique_ptr<Kernel>> emit_kernel(const ir::KernelKey& requested) {
  const auto start = std::chrono::steady_clock::now();
  Result<ir::KernelKey> key = resolve_key(requested);
  if (!key.ok()) return key.error();
  Result<ir::LoweringTarget> target = lowering_target(*key);
  if (!target.ok()) return target.error();
  Result<ir::Program> program = ir::lower(*key, *target);
  if (!program.ok()) return program.error();
  SHERRY_TRY(ir::verify(*program));

  auto kernel = std::make_unique<Kernel>();
  kernel->key = *key;
  kernel->name = program->name;
  kernel->layout = layout_of(*program);
  kernel->program = std::move(*program);
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[kCodeCapacity]);
  Result<size_t> size = [&]() -> Result<size_t> {
    switch (key->isa) {
      case Isa::kSsse3:
        return generate<LutCodeBytesGenerator<Ssse3Traits>>(kernel->program, kernel->layout,
                                                            buffer.get());
      case Isa::kAvx2:
        return generate<LutCodeBytesGenerator<Avx2Traits>>(kernel->program, kernel->layout,
                                                           buffer.get());
      case Isa::kAvx512bw:
        return generate<LutCodeBytesGenerator<Avx512bwTraits>>(kernel->program, kernel->layout,
                                                               buffer.get());
      case Isa::kAvx512vbmi:
        return generate<LutNibbleGenerator<Avx512vbmiTraits>>(kernel->program, kernel->layout,
                                                              buffer.get());
      case Isa::kScalar:
      case Isa::kNeon:
      case Isa::kDotprod:
        break;
    }
    return make_error("kernel {}: no x86-64 generator", kernel->name);
  }();
  if (!size.ok()) return size.error();
  Result<CodeMemory> code = CodeMemory::create({buffer.get(), *size}, kernel->name);
  if (!code.ok()) return code.error();
  kernel->code = std::move(*code);
  kernel->fn = reinterpret_cast<KernelFn>(const_cast<uint8_t*>(kernel->code.data()));
  kernel->jit_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return kernel;
}

}  // namespace sherry::jit::x64
