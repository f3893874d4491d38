#include "jit/x64/x64_backend.h"

#include <algorithm>
#include <cstring>

#include "ir/verifier.h"
#include "jit/aligned_buffer.h"
#include "jit/x64/dot_gemm_gen.h"
#include "jit/x64/dot_records.h"
#include "jit/x64/isa_traits.h"
#include "jit/x64/lut_code_bytes_gen.h"
#include "jit/x64/lut_nibble_gen.h"
#include "jit/x64/table_builder.h"
#include "jit/x64/weight_repack.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit::x64 {
namespace {

using ir::Isa;

constexpr size_t kCodeCapacity = 256 * 1024;
constexpr int64_t kMaxPrefetch = 16 * 1024;  // a displacement; beyond this no gain was measured
// A dot kernel's default K block: the most scale groups whose panel fits this (L1-sized) budget.
constexpr int64_t kDotPanelBudget = 32 * 1024;
constexpr int64_t kMaxDotTokens = 4096;  // tokens per dot call: displacements stay small

// The path table's numbers are the generators' register plans.
template <class Traits>
constexpr bool row_matches_traits() {
  const IsaPath& p = isa_path(Traits::kIsa);
  if (p.backend != BackendKind::kX64 || p.vector_bytes != Traits::kVectorBytes) return false;
  if (p.format == WeightFormat::kNibblesSignMasks) {
    return Traits::kHasVbmi && p.row_tile_quantum == kNibbleRowsPerPair &&
           p.default_row_tile == 2 * kNibbleRowsPerPair &&
           p.max_n_tile == kNibbleAccumulatorQuads / 2;
  }
  if (p.format == WeightFormat::kNibblePlanes && !(Traits::kHasAvx && !Traits::kHasVbmi)) {
    return false;  // generated for AVX2 and AVX-512BW only
  }
  return p.accumulator_budget == code_bytes_accumulator_budget<Traits>() &&
         p.row_tile_quantum == Traits::kVectorBytes &&
         p.default_row_tile == 2 * Traits::kVectorBytes && p.max_n_tile == p.accumulator_budget / 4;
}
static_assert(row_matches_traits<Ssse3Traits>());
static_assert(row_matches_traits<Avx2Traits>());
static_assert(row_matches_traits<Avx2VnniTraits>());
static_assert(row_matches_traits<Avx512bwTraits>());
static_assert(row_matches_traits<Avx512vbmiTraits>());

int64_t round_up_64(int64_t bytes) {
  return (bytes + 63) / 64 * 64;
}

bool nibbles(const IsaPath& path) {
  return path.format == WeightFormat::kNibblesSignMasks;
}

// Tokens per call that fit the registers at this row tile.
int64_t n_tile_limit(const IsaPath& path, int64_t row_tile) {
  if (row_tile == 0) row_tile = path.default_row_tile;
  if (nibbles(path)) {
    return kNibbleAccumulatorQuads / std::max<int64_t>(1, row_tile / kNibbleRowsPerPair);
  }
  return path.accumulator_budget / (2 * std::max<int64_t>(1, row_tile / path.vector_bytes));
}

// Rows per tile that fit the registers for n tokens (0 when none does).
int64_t max_row_tile(const IsaPath& path, int64_t n_tile) {
  if (nibbles(path)) {
    return std::min(kNibbleMaxPairs, kNibbleAccumulatorQuads / n_tile) * kNibbleRowsPerPair;
  }
  return path.accumulator_budget / (2 * n_tile) * path.vector_bytes;
}

KernelLayout layout_of(const ir::Program& program) {
  const ir::ProgramShape& s = program.shape;
  const IsaPath& path = isa_path(program.key.isa);
  KernelLayout layout;
  layout.format = path.format;
  layout.table = program.key.table;
  layout.vector_bytes = path.vector_bytes;
  layout.row_tile = s.row_tile;
  layout.m_pad = s.m_pad;
  layout.k_pad = s.k_pad;
  layout.groups = s.groups;
  layout.tiles = s.tiles();
  const int64_t steps = s.k_pad / (4 * s.blocks_per_step);
  if (nibbles(path)) {
    const int64_t pairs = s.row_tile / kNibbleRowsPerPair;
    layout.step_weight_bytes = pairs * kNibblePairBytes;
    layout.count_bytes = s.blocks_per_group() <= 127 ? 1 : 2;
    layout.header_bytes = round_up_64(s.row_tile * (2 + layout.count_bytes));
    const bool int8 = program.key.table == ir::TablePrecision::kInt8Lossy;
    layout.step_table_bytes = int8 ? 64 : 2 * 64;
    layout.group_tail_bytes = int8 ? 64 : 0;
  } else if (path.format == WeightFormat::kNibblePlanes) {
    // 4·G code vectors per step: 2·G vectors of nibbles, ⌈G/2⌉ of sign bits.
    const int64_t code_vectors = s.blocks_per_step * (s.row_tile / path.vector_bytes);
    layout.step_sign_offset = code_vectors / 2 * path.vector_bytes;
    layout.step_weight_bytes = layout.step_sign_offset + (code_vectors + 7) / 8 * path.vector_bytes;
    layout.step_table_bytes = s.blocks_per_step * 32;
    layout.count_bytes = s.blocks_per_group() <= 255 ? 1 : 2;
    layout.header_bytes = round_up_64(s.row_tile * (2 + layout.count_bytes));
    layout.group_weight_bytes =
        round_up_64(layout.header_bytes + steps / s.groups * layout.step_weight_bytes);
  } else {
    layout.step_weight_bytes = s.blocks_per_step * s.row_tile;
    layout.step_table_bytes = s.blocks_per_step * 32;
  }
  layout.tile_weight_bytes = layout.group_weight_bytes > 0 ? s.groups * layout.group_weight_bytes
                                                           : steps * layout.step_weight_bytes;
  layout.table_bytes = steps * layout.step_table_bytes + s.groups * layout.group_tail_bytes;
  layout.out_token_bytes =
      program.key.output == ir::OutputMode::kFloat ? s.m_pad * 4 : s.groups * s.m_pad * 4;
  if (program.key.op == ir::KernelOp::kDotGemm) {
    // Token records instead of tables (dot_records.h), a panel per thread.
    layout.step_table_bytes = 0;
    layout.group_tail_bytes = 0;
    layout.table_bytes = dot_record_bytes(s.k_pad, s.groups);
    layout.block_rows = dot_block_rows(program.key.isa, s.row_tile);
    layout.token_block = program.key.tuning.token_block;
    layout.k_block_groups = program.key.tuning.k_block;
    layout.panel_bytes =
        dot_decode_rows(program.key.isa, s.row_tile) * layout.k_block_groups * (s.k_pad / s.groups);
  }
  return layout;
}

// Scale groups of a layer, as lowering will count them (whole steps of 16 weights).
int64_t key_groups(const ir::KernelKey& key) {
  return scale_groups_per_row(key.layout, key.k);
}

// A dot key's tuning defaults and limits (the lookup fields are resolved by the caller).
Status resolve_dot_tuning(ir::KernelKey& key) {
  const int64_t block_rows = dot_block_rows(key.isa, key.tuning.row_tile);
  const int64_t decode_rows = dot_decode_rows(key.isa, key.tuning.row_tile);
  const int64_t max_tokens = dot_max_token_block(key.isa, block_rows);
  if (key.tuning.token_block == 0) key.tuning.token_block = max_tokens;
  if (key.tuning.token_block < 1 || key.tuning.token_block > max_tokens) {
    return make_error("kernel {}: token block {} must be 1 to {} for blocks of {} rows",
                      ir::kernel_name(key), key.tuning.token_block, max_tokens, block_rows);
  }
  const int64_t groups = key_groups(key);
  const int64_t group_weights = (key.k + 15) / 16 * 16 / groups;
  if (key.tuning.k_block == 0) {
    key.tuning.k_block = 1;
    for (int64_t d = 1; d <= groups; ++d) {
      if (groups % d == 0 && decode_rows * d * group_weights <= kDotPanelBudget) {
        key.tuning.k_block = d;
      }
    }
  }
  if (key.tuning.k_block < 1 || groups % key.tuning.k_block != 0) {
    return make_error("kernel {}: K block of {} scale groups must divide the {} groups of a row",
                      ir::kernel_name(key), key.tuning.k_block, groups);
  }
  if (key.n_tile > kMaxDotTokens) {
    return make_error("kernel {}: {} tokens per call, at most {}", ir::kernel_name(key), key.n_tile,
                      kMaxDotTokens);
  }
  return Status::success();
}

// Bytes of a generated kernel: all of it, and its instructions before the constants.
struct GeneratedSize {
  size_t total = 0;
  size_t instructions = 0;
};

template <class Generator>
Result<GeneratedSize> generate_with(const ir::Program& program, const KernelLayout& layout,
                                    uint8_t* buffer) {
  try {
    Generator generator(program, layout, buffer, kCodeCapacity);
    generator.generate();
    return GeneratedSize{generator.getSize(), generator.data_offset()};
  } catch (const Xbyak::Error& error) {
    return make_error("kernel {}: code generation failed: {}", program.name, error.what());
  }
}

// The family generator of each x86-64 path.
Result<GeneratedSize> generate(const ir::Program& program, const KernelLayout& layout,
                               uint8_t* buffer) {
  if (program.key.op == ir::KernelOp::kDotGemm) {
    if (program.key.isa == Isa::kAvx512vbmi) {
      return generate_with<DotGemmGenerator<Avx512vbmiTraits>>(program, layout, buffer);
    }
    if (program.key.isa == Isa::kAvx2Vnni) {
      return generate_with<DotGemmGenerator<Avx2VnniTraits>>(program, layout, buffer);
    }
    return make_error("kernel {}: no dot generator on {}", program.name,
                      ir::to_string(program.key.isa));
  }
  switch (program.key.isa) {
    case Isa::kSsse3:
      return generate_with<LutCodeBytesGenerator<Ssse3Traits>>(program, layout, buffer);
    case Isa::kAvx2:
      return generate_with<LutCodeBytesGenerator<Avx2Traits>>(program, layout, buffer);
    case Isa::kAvx2Vnni:
      return generate_with<LutCodeBytesGenerator<Avx2VnniTraits>>(program, layout, buffer);
    case Isa::kAvx512bw:
      return generate_with<LutCodeBytesGenerator<Avx512bwTraits>>(program, layout, buffer);
    case Isa::kAvx512vbmi:
      return generate_with<LutNibbleGenerator<Avx512vbmiTraits>>(program, layout, buffer);
    case Isa::kScalar:
    case Isa::kNeon:
    case Isa::kDotprod:
      break;
  }
  return make_error("kernel {}: no x86-64 generator", program.name);
}

using X64Weights = OwnedWeights<RepackedWeights>;

class X64Backend final : public Backend {
 public:
  std::string_view name() const override { return "x86-64"; }
  bool runs_here() const override { return true; }

  Result<ir::KernelKey> resolve_key(const ir::KernelKey& requested) const override {
    ir::KernelKey key = requested;
    const IsaPath& path = isa_path(key.isa);
    if (path.backend == BackendKind::kReference) {
      return make_error("kernel {}: the scalar path runs the reference kernels, no generated code",
                        ir::kernel_name(key));
    }
    if (path.backend != BackendKind::kX64) {
      return make_error("kernel {}: an AArch64 path has no x86-64 generator", ir::kernel_name(key));
    }
    if (key.table == ir::TablePrecision::kInt8Lossy && !path.int8_tables) {
      return make_error("kernel {}: int8 tables are generated for avx512vbmi only",
                        ir::kernel_name(key));
    }
    if (key.tuning.row_tile == 0) key.tuning.row_tile = path.default_row_tile;
    if (key.tuning.prefetch == ir::kPathDefaultPrefetch) {
      key.tuning.prefetch = path.default_prefetch;
    }
    if (key.tuning.prefetch < 0 || key.tuning.prefetch > kMaxPrefetch) {
      return make_error("kernel {}: prefetch distance {} must be 0 to {} bytes",
                        ir::kernel_name(key), key.tuning.prefetch, kMaxPrefetch);
    }
    if (key.op == ir::KernelOp::kDotGemm) {
      if (!path.dot_gemm) {
        return make_error(
            "kernel {}: the dot GEMM family is generated for avx512vbmi and avx2vnni only",
            ir::kernel_name(key));
      }
      if (key.tuning.row_tile % path.row_tile_quantum != 0 || key.tuning.row_tile > 4096) {
        return make_error("kernel {}: row tile {} must be a multiple of {} and at most 4096",
                          ir::kernel_name(key), key.tuning.row_tile, path.row_tile_quantum);
      }
      SHERRY_TRY(resolve_dot_tuning(key));
      return key;
    }
    // A layer's tuning serves all its kernels; the token and K blocks change only the dot ones.
    key.tuning.token_block = 0;
    key.tuning.k_block = 0;
    if (key.tuning.row_tile % path.row_tile_quantum != 0 ||
        key.tuning.row_tile > max_row_tile(path, key.n_tile)) {
      return make_error(
          "kernel {}: row tile {} must be a multiple of {} and at most {} for n_tile {} on {}",
          ir::kernel_name(key), key.tuning.row_tile, path.row_tile_quantum,
          max_row_tile(path, key.n_tile), key.n_tile, ir::to_string(key.isa));
    }
    return key;
  }

  Result<ir::LoweringTarget> lowering_target(const ir::KernelKey& key) const override {
    const IsaPath& path = isa_path(key.isa);
    ir::LoweringTarget target;
    target.blocks_per_step = 4;
    target.row_tile = path.default_row_tile;
    target.row_tile_quantum = path.row_tile_quantum;
    target.lookup = ir::LookupMode::kSignAfterLookup;
    // Nibbles: the sign multiplies inside vpdpbusd, int32 throughout.
    target.accumulate_i16 = !nibbles(path);
    return target;
  }

  int64_t max_n_tile(ir::Isa isa, int64_t row_tile) const override {
    return n_tile_limit(isa_path(isa), row_tile);
  }

  Result<std::unique_ptr<Kernel>> build(const ir::KernelKey& requested) const override {
    Result<ir::KernelKey> key = resolve_key(requested);
    if (!key.ok()) return key.error();
    Result<ir::LoweringTarget> target = lowering_target(*key);
    if (!target.ok()) return target.error();
    Result<ir::Program> program = ir::lower(*key, *target);
    if (!program.ok()) return program.error();
    SHERRY_TRY(ir::verify(*program));

    auto kernel = std::make_unique<X64Kernel>();
    kernel->backend = this;
    kernel->key = *key;
    kernel->name = program->name;
    kernel->layout = layout_of(*program);
    kernel->program = std::move(*program);
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[kCodeCapacity]);
    Result<GeneratedSize> size = generate(kernel->program, kernel->layout, buffer.get());
    if (!size.ok()) return size.error();
    kernel->instruction_bytes = size->instructions;
    Result<CodeMemory> code = CodeMemory::create({buffer.get(), size->total}, kernel->name);
    if (!code.ok()) return code.error();
    kernel->code = std::move(*code);
    kernel->fn = reinterpret_cast<KernelFn>(const_cast<uint8_t*>(kernel->code.data()));
    return std::unique_ptr<Kernel>(std::move(kernel));
  }

  std::unique_ptr<LayerWeights> prepare_weights(const Kernel& kernel,
                                                const PackedTensorView& w) const override {
    const KernelLayout& l = as_x64(kernel).layout;
    RepackedWeights repacked = repack_weights(w, l);
    // Stream: every byte a call reads per tile and group (codes, α, counts, headers, padding);
    // codes: the weight codes alone.
    const int64_t stream =
        l.tiles * l.tile_weight_bytes +
        static_cast<int64_t>(repacked.alpha.size() * sizeof(float) +
                             repacked.nneg.size() * sizeof(int32_t) + repacked.headers.size());
    const int64_t code = l.group_weight_bytes > 0 ? l.tiles * (l.k_pad / 16) * l.step_weight_bytes
                                                  : l.tiles * l.tile_weight_bytes;
    return std::make_unique<X64Weights>(std::move(repacked), code, stream);
  }

  CallSizes call_sizes(const Kernel& kernel) const override {
    const KernelLayout& l = as_x64(kernel).layout;
    const int64_t n = kernel.key.n_tile;
    if (kernel.key.op == ir::KernelOp::kDotGemm) {
      return {n * l.table_bytes, n * l.out_token_bytes, 0, l.panel_bytes};
    }
    return {n * l.table_bytes, n * l.out_token_bytes, l.k_pad, 0};
  }

  void prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                     uint8_t* call_activations, int8_t* scratch) const override {
    const KernelLayout& l = as_x64(kernel).layout;
    uint8_t* out = call_activations + index * l.table_bytes;
    if (kernel.key.op == ir::KernelOp::kDotGemm) {
      build_dot_record(l, kernel.key.layout.grouping, q, kernel.key.k, out);
      return;
    }
    build_tables(l, kernel.key.layout.grouping, q, kernel.key.k, scratch, out);
  }

  void run(const Kernel& kernel, const LayerWeights& weights, const CallArgs& call,
           int64_t tile_begin, int64_t tile_end, uint8_t* workspace) const override {
    const RepackedWeights& w = static_cast<const X64Weights&>(weights).value;
    const KernelArgs args{w.weights.data(), w.alpha.data(), w.nneg.data(), w.headers.data(),
                          call.activations, call.scales,    call.out,      tile_begin,
                          tile_end,         call.tokens,    workspace};
    as_x64(kernel).run(args);
  }

  void read_accumulators(const Kernel& kernel, const void* out, int64_t tokens,
                         int32_t* acc) const override {
    const KernelLayout& l = as_x64(kernel).layout;
    const int64_t m = kernel.key.m;
    const auto* src = static_cast<const int32_t*>(out);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t g = 0; g < l.groups; ++g) {
        for (int64_t row = 0; row < m; ++row) {
          acc[(t * m + row) * l.groups + g] = src[(t * l.groups + g) * l.m_pad + row];
        }
      }
    }
  }
};

}  // namespace

const X64Kernel& as_x64(const Kernel& kernel) {
  SHERRY_CHECK(kernel.backend == &x64_backend(), "{}: not an x86-64 kernel", kernel.name);
  return static_cast<const X64Kernel&>(kernel);
}

const Backend& x64_backend() {
  static const X64Backend backend;
  return backend;
}

}  // namespace sherry::jit::x64
