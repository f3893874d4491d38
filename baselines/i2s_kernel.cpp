#include "baselines/i2s_kernel.h"

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "jit/paths.h"

#if defined(SHERRY_X86_64)
#include "baselines/i2s_gemv_gen.h"
#include "jit/x64/isa_traits.h"
#endif

namespace sherry::jit {
namespace {

constexpr size_t kCodeCapacity = 256 * 1024;
constexpr int64_t kDefaultRowTile = 4;

int64_t accumulator_budget(ir::Isa isa) {
#if defined(SHERRY_X86_64)
  switch (isa) {
    case ir::Isa::kAvx2:
      return x64::i2s_accumulator_budget<x64::Avx2Traits>();
    case ir::Isa::kAvx2Vnni:
      return x64::i2s_accumulator_budget<x64::Avx2VnniTraits>();
    case ir::Isa::kAvx512bw:
      return x64::i2s_accumulator_budget<x64::Avx512bwTraits>();
    case ir::Isa::kAvx512vbmi:
      return x64::i2s_accumulator_budget<x64::Avx512vbmiTraits>();
    default:
      return 0;
  }
#else
  (void)isa;
  return 0;
#endif
}

#if defined(SHERRY_X86_64)
template <class Traits>
Result<size_t> generate(const I2sKernelKey& key, const I2sLayout& layout, uint8_t* buffer) {
  try {
    x64::I2sGemvGenerator<Traits> generator(key, layout, buffer, kCodeCapacity);
    generator.generate();
    return generator.getSize();
  } catch (const Xbyak::Error& error) {
    return make_error("kernel {}: code generation failed: {}", i2s_kernel_name(key), error.what());
  }
}
#endif

}  // namespace

std::string i2s_kernel_name(const I2sKernelKey& key) {
  std::string name = key.n_tile == 1 ? "i2s_gemv" : fmt::format("i2s_gemm_n{}", key.n_tile);
  name += fmt::format("_{}_m{}_k{}", ir::to_string(key.isa), key.m, key.k);
  if (key.row_tile != 0) name += fmt::format("_r{}", key.row_tile);
  if (key.prefetch != 0) name += fmt::format("_p{}", key.prefetch);
  if (key.output == ir::OutputMode::kAccumulators) name += "_acc";
  return name;
}

bool has_i2s_kernels(ir::Isa isa) {
  return accumulator_budget(isa) > 0;
}

int64_t i2s_max_n_tile(ir::Isa isa, int64_t row_tile) {
  if (row_tile == 0) row_tile = kDefaultRowTile;
  return row_tile <= 0 ? 0 : accumulator_budget(isa) / row_tile;
}

Result<I2sKernelKey> resolve_i2s_key(I2sKernelKey key) {
  if (!has_i2s_kernels(key.isa)) {
    return make_error("kernel {}: no I2_S generator for the {} path in this build",
                      i2s_kernel_name(key), ir::to_string(key.isa));
  }
  if (key.row_tile == 0) key.row_tile = kDefaultRowTile;
  if (key.m <= 0 || key.k <= 0 || key.n_tile <= 0) {
    return make_error("kernel {}: m, k and n_tile must be positive", i2s_kernel_name(key));
  }
  if (key.row_tile % 4 != 0 || key.row_tile * key.n_tile > accumulator_budget(key.isa)) {
    return make_error(
        "kernel {}: row tile {} must be a multiple of 4 with row tile x n_tile at most {} on {}",
        i2s_kernel_name(key), key.row_tile, accumulator_budget(key.isa), ir::to_string(key.isa));
  }
  if (key.prefetch < 0 || key.prefetch > (1 << 20)) {
    return make_error("kernel {}: prefetch distance {} must be in [0, 1 MiB]", i2s_kernel_name(key),
                      key.prefetch);
  }
  return key;
}

I2sLayout i2s_layout(const I2sKernelKey& key) {
  I2sLayout layout;
  layout.vector_bytes = isa_path(key.isa).vector_bytes;
  layout.row_tile = key.row_tile;
  const int64_t step_cols = 4 * layout.vector_bytes;
  layout.m_pad = (key.m + key.row_tile - 1) / key.row_tile * key.row_tile;
  layout.k_pad = (key.k + step_cols - 1) / step_cols * step_cols;
  layout.tiles = layout.m_pad / key.row_tile;
  layout.steps = layout.k_pad / step_cols;
  layout.tile_weight_bytes = layout.steps * key.row_tile * layout.vector_bytes;
  return layout;
}

Result<std::unique_ptr<I2sKernel>> build_i2s_kernel(const I2sKernelKey& requested) {
  const auto start = std::chrono::steady_clock::now();
  Result<I2sKernelKey> key = resolve_i2s_key(requested);
  if (!key.ok()) return key.error();
  auto kernel = std::make_unique<I2sKernel>();
  kernel->key = *key;
  kernel->name = i2s_kernel_name(*key);
  kernel->layout = i2s_layout(*key);
#if defined(SHERRY_X86_64)
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[kCodeCapacity]);
  Result<size_t> size = [&]() -> Result<size_t> {
    switch (key->isa) {
      case ir::Isa::kAvx2:
        return generate<x64::Avx2Traits>(*key, kernel->layout, buffer.get());
      case ir::Isa::kAvx2Vnni:
        return generate<x64::Avx2VnniTraits>(*key, kernel->layout, buffer.get());
      case ir::Isa::kAvx512bw:
        return generate<x64::Avx512bwTraits>(*key, kernel->layout, buffer.get());
      case ir::Isa::kAvx512vbmi:
        return generate<x64::Avx512vbmiTraits>(*key, kernel->layout, buffer.get());
      default:
        return make_error("kernel {}: no x86-64 I2_S generator", kernel->name);
    }
  }();
  if (!size.ok()) return size.error();
  Result<CodeMemory> code = CodeMemory::create({buffer.get(), *size}, kernel->name);
  if (!code.ok()) return code.error();
  kernel->code = std::move(*code);
  kernel->fn =
      reinterpret_cast<void (*)(const I2sKernelArgs*)>(const_cast<uint8_t*>(kernel->code.data()));
  kernel->jit_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return kernel;
#else
  (void)start;
  return make_error("kernel {}: no code generator in this build", kernel->name);
#endif
}

AlignedBuffer<uint8_t> repack_i2s(const I2sTensor& w, const I2sLayout& layout, int64_t prefetch) {
  SHERRY_CHECK(w.rows <= layout.m_pad && w.cols <= layout.k_pad);
  const int64_t v = layout.vector_bytes;
  const int64_t total = layout.tiles * layout.tile_weight_bytes;
  AlignedBuffer<uint8_t> out(static_cast<size_t>(total + prefetch + 64));
  // 0x55: t = 0 in every field (padding rows and columns).
  std::memset(out.data(), 0x55, static_cast<size_t>(total));
  for (int64_t m = 0; m < w.rows; ++m) {
    const int64_t tile = m / layout.row_tile;
    const int64_t r = m % layout.row_tile;
    for (int64_t c = 0; c < w.cols; ++c) {
      const int64_t step = c / (4 * v);
      const int64_t i = c % (4 * v) / v;
      const int64_t j = c % v;
      uint8_t& byte = out[static_cast<size_t>(tile * layout.tile_weight_bytes +
                                              (step * layout.row_tile + r) * v + j)];
      const int shift = static_cast<int>(2 * i);
      byte = static_cast<uint8_t>((byte & ~(3 << shift)) | (w.weight(m, c) + 1) << shift);
    }
  }
  return out;
}

}  // namespace sherry::jit
