// Generated kernels in accumulator mode against core's reference_accumulate_i32, bit for bit,
// for every ISA path this machine runs, over edge shapes, layouts, token counts and seeds.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/reference_kernels.h"
#include "core/ternary_code.h"
#include "ir/interpreter.h"
#include "jit/aligned_buffer.h"
#include "jit/kernel_build.h"
#include "jit/x64/table_builder.h"
#include "jit/x64/table_builder_avx2.h"
#include "jit/x64/weight_repack.h"
#include "jit/x64/x64_backend.h"
#include "jit/x64/x64_kernel.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

// Runs a kernel over every tile (split in two calls at `split`) and returns the accumulators in
// core's layout (tokens × rows × groups).
std::vector<int32_t> run_accumulators(const Kernel& built, const PackedTensorView& w,
                                      const QuantizedActivations& x, int64_t split = 0) {
  using namespace x64;
  const X64Kernel& kernel = as_x64(built);
  const KernelLayout& layout = kernel.layout;
  const RepackedWeights r = repack_weights(w, layout);
  AlignedBuffer<uint8_t> tables(static_cast<size_t>(x.tokens * layout.table_bytes));
  AlignedBuffer<int8_t> scratch(static_cast<size_t>(layout.k_pad));
  for (int64_t t = 0; t < x.tokens; ++t) {
    build_tables(layout, w.layout.grouping, x.token(t), w.cols, scratch.data(),
                 tables.data() + t * layout.table_bytes);
  }
  AlignedBuffer<int32_t> out(static_cast<size_t>(x.tokens * layout.groups * layout.m_pad));
  KernelArgs args{r.weights.data(), r.alpha.data(),  r.nneg.data(), r.headers.data(),
                  tables.data(),    x.scales.data(), out.data(),    0,
                  layout.tiles,     x.tokens,        nullptr};
  split = std::min(split, layout.tiles);
  if (split > 0) {
    args.tile_end = split;
    kernel.run(args);
    args.tile_begin = split;
    args.tile_end = layout.tiles;
  }
  kernel.run(args);
  std::vector<int32_t> acc(static_cast<size_t>(x.tokens * w.rows * layout.groups));
  for (int64_t t = 0; t < x.tokens; ++t) {
    for (int64_t m = 0; m < w.rows; ++m) {
      for (int64_t g = 0; g < layout.groups; ++g) {
        acc[(t * w.rows + m) * layout.groups + g] = out[(t * layout.groups + g) * layout.m_pad + m];
      }
    }
  }
  return acc;
}

ir::KernelKey acc_key(ir::Isa isa, int64_t m, int64_t k, const WeightLayout& layout,
                      int64_t n_tile) {
  ir::KernelKey key;
  key.op = n_tile == 1 ? ir::KernelOp::kGemv : ir::KernelOp::kGemm;
  key.isa = isa;
  key.m = m;
  key.k = k;
  key.n_tile = n_tile;
  key.layout = layout;
  key.output = ir::OutputMode::kAccumulators;
  return key;
}

// Builds, runs and compares; returns false (after reporting) on a mismatch.
bool check_accumulators(const ir::KernelKey& key, const PackedTensor& w,
                        const QuantizedActivations& x, uint32_t seed, int64_t split = 0) {
  Result<std::unique_ptr<Kernel>> kernel = build_kernel(key);
  if (!kernel.ok()) {
    FAIL_CHECK("seed ", seed, " kernel ", ir::kernel_name(key), ": ", kernel.error().message());
    return false;
  }
  const std::vector<int32_t> got = run_accumulators(**kernel, w.view(), x, split);
  std::vector<int32_t> want(got.size());
  reference_accumulate_i32(w.view(), x, want.data());
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      FAIL_CHECK("seed ", seed, " kernel ", (*kernel)->name, ": accumulator ", i, " is ", got[i],
                 ", reference ", want[i]);
      return false;
    }
  }
  return true;
}

struct LayoutCase {
  WeightLayout layout;
  std::vector<int64_t> ks;
};

std::vector<LayoutCase> layout_cases() {
  using G = BlockGrouping;
  using S = ScaleGranularity;
  return {
      {{G::kContiguous, S::kGroup, 32}, {32, 96}},
      {{G::kContiguous, S::kGroup, 64}, {64, 320}},
      {{G::kStride16, S::kGroup, 128}, {128, 384}},
      {{G::kContiguous, S::kChannel, 128}, {4, 20, 36, 100, 1348}},
      {{G::kStride16, S::kTensor, 128}, {64, 192}},
      {{G::kContiguous, S::kTensor, 128}, {8, 52}},
  };
}

TEST_CASE("generated accumulators match the reference on every runnable ISA path") {
  for (const ir::Isa isa : test::runnable_isas()) {
    Result<ir::KernelKey> probe = resolve_kernel_key(acc_key(
        isa, 1, 64, WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128}, 1));
    REQUIRE(probe.ok());
    const int64_t tile = probe->tuning.row_tile;
    const int64_t max_n = max_n_tile(isa, tile);
    for (uint32_t seed = 1; seed <= 2; ++seed) {
      for (const LayoutCase& c : layout_cases()) {
        for (const int64_t k : c.ks) {
          for (const int64_t m : {int64_t{1}, tile - 1, tile + 1, 2 * tile + 3}) {
            if (m < 1) continue;
            const PackedTensor w = sherry::test::random_packed(m, k, c.layout, seed * 31 + k);
            for (int64_t n = 1; n <= max_n; ++n) {
              const QuantizedActivations x = test::random_activations(n, k, seed * 7 + n);
              if (!check_accumulators(acc_key(isa, m, k, c.layout, n), w, x, seed)) break;
            }
          }
        }
      }
    }
  }
}

TEST_CASE("extreme activations over long per-channel rows stay exact") {
  // 8192 columns at ±127 with rows of all-positive, all-negative and random codes: an int16
  // accumulator that is not widened in time wraps.
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128};
  const int64_t m = 40, k = 8192;
  PackedTensor w = sherry::test::random_packed(m, k, layout, 5);
  for (int64_t b = 0; b < k / 4; ++b) {
    w.set_code(0, b, 0);
    w.set_code(1, b, 16);
  }
  QuantizedActivations x = test::extreme_activations(1, k, 3);
  std::fill(x.values.begin(), x.values.end(), int8_t{127});
  for (const ir::Isa isa : test::runnable_isas()) {
    check_accumulators(acc_key(isa, m, k, layout, 1), w, x, 3);
    check_accumulators(acc_key(isa, m, k, layout, 1), w, test::extreme_activations(1, k, 4), 4);
  }
}

TEST_CASE("the AVX2 table builder writes every block's exact entries for all int8 values") {
  if (!host_cpu().has(CpuFeature::kAvx2)) return;
  // Every int8 value (−128 included, which activation quantization never makes) in every lane;
  // both layouts: per block (16 lo, 16 hi) and per step (64 lo, 64 hi + 2).
  const int64_t blocks = 256;
  std::vector<int8_t> q(static_cast<size_t>(4 * blocks));
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 37 + i / 256) % 256);
  std::vector<uint8_t> per_block(static_cast<size_t>(32 * blocks));
  std::vector<uint8_t> per_step(per_block.size());
  x64::sherry_table_builder().build(q.data(), blocks, x64::TablePlanes::kPerBlock,
                                    per_block.data());
  x64::sherry_table_builder().build(q.data(), blocks, x64::TablePlanes::kPerStep, per_step.data());
  for (int64_t b = 0; b < blocks; ++b) {
    for (int slot = 0; slot < kSlotCount; ++slot) {
      int v = 0;
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        v += slot_lane_value(static_cast<uint8_t>(slot), p) * q[static_cast<size_t>(4 * b + p)];
      }
      INFO("block ", b, " slot ", slot, " entry ", v);
      const auto at = [&](int64_t i) { return static_cast<size_t>(i); };
      CHECK(per_block[at(32 * b + slot)] == static_cast<uint8_t>(v & 0xFF));
      CHECK(per_block[at(32 * b + 16 + slot)] == static_cast<uint8_t>((v >> 8) & 0xFF));
      const int64_t lo = b / 4 * 128 + b % 4 * 16 + slot;
      CHECK(per_step[at(lo)] == static_cast<uint8_t>(v & 0xFF));
      CHECK(per_step[at(lo + 64)] == static_cast<uint8_t>((v >> 8) + 2));
    }
  }
}

TEST_CASE("per-group counts at the limits of the record fields stay exact") {
  // Records hold a group's negative-block count in a u8 up to 255 blocks (AVX2 planes), its
  // Σ signs in an int8 up to 127 blocks (VBMI); wider groups take 16 bits. Groups of 124/128
  // and 252/256 blocks sit on both sides of each limit; rows of all-positive and all-negative
  // blocks reach the ends of the range. Every path runs them.
  for (const int64_t group : {int64_t{496}, int64_t{512}, int64_t{1008}, int64_t{1024}}) {
    const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, group};
    const int64_t m = 70, k = 2 * group;
    PackedTensor w = sherry::test::random_packed(m, k, layout, 11);
    for (int64_t b = 0; b < k / 4; ++b) {
      w.set_code(0, b, 0);   // sign +1
      w.set_code(1, b, 16);  // sign −1
      w.set_code(69, b, b < group / 4 ? 16 : 0);
    }
    for (const ir::Isa isa : test::runnable_isas()) {
      for (int64_t n = 1; n <= 2; ++n) {
        CHECK(check_accumulators(acc_key(isa, m, k, layout, n), w,
                                 test::extreme_activations(n, k, 6), 6));
      }
    }
  }
}

TEST_CASE("every row tile a path allows gives the reference's accumulators") {
  // The tile sets the record layout (header, sign-mask padding) and the register plan.
  const WeightLayout layout{BlockGrouping::kStride16, ScaleGranularity::kGroup, 64};
  const int64_t k = 192;
  for (const ir::Isa isa : test::runnable_isas()) {
    const IsaPath& path = isa_path(isa);
    int64_t checked = 0;
    for (int64_t n = 1; n <= 2; ++n) {
      for (int64_t tile = path.row_tile_quantum; tile <= 4 * path.row_tile_quantum;
           tile += path.row_tile_quantum) {
        ir::KernelKey key = acc_key(isa, 2 * tile + 5, k, layout, n);
        key.tuning.row_tile = tile;
        if (!resolve_kernel_key(key).ok()) continue;  // beyond the registers for n tokens
        const PackedTensor w = sherry::test::random_packed(key.m, k, layout, 13 + tile);
        CHECK(check_accumulators(key, w, test::random_activations(n, k, 14), 14));
        ++checked;
      }
    }
    // Every x86-64 path fits four tiles for one token and two for two tokens.
    INFO(ir::to_string(isa));
    CHECK(checked >= 6);
  }
}

TEST_CASE("a tile range split over two calls gives the same accumulators") {
  const WeightLayout layout{BlockGrouping::kStride16, ScaleGranularity::kGroup, 128};
  const PackedTensor w = sherry::test::random_packed(300, 256, layout, 9);
  const QuantizedActivations x = test::random_activations(1, 256, 10);
  for (const ir::Isa isa : test::runnable_isas()) {
    check_accumulators(acc_key(isa, 300, 256, layout, 1), w, x, 10, 1);
    check_accumulators(acc_key(isa, 300, 256, layout, 1), w, x, 10, 2);
  }
}

TEST_CASE("generated code is never writable and executable at once") {
  for (const ir::Isa isa : test::runnable_isas()) {
    Result<std::unique_ptr<Kernel>> kernel = build_kernel(acc_key(isa, 64, 128, WeightLayout{}, 1));
    REQUIRE(kernel.ok());
    const auto address = reinterpret_cast<uintptr_t>((*kernel)->code_address());
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool found = false;
    while (std::getline(maps, line)) {
      uintptr_t begin = 0, end = 0;
      char perms[5] = {};
      if (std::sscanf(line.c_str(), "%lx-%lx %4s", &begin, &end, perms) != 3) continue;
      if (address >= begin && address < end) {
        found = true;
        INFO("kernel ", (*kernel)->name, " mapping ", line);
        CHECK(std::string(perms).substr(0, 3) == "r-x");
      }
    }
    CHECK(found);
  }
}

TEST_CASE("keys the generators cannot serve are errors that name the kernel") {
  const WeightLayout layout{};
  SUBCASE("the scalar path") {
    Result<std::unique_ptr<Kernel>> k = build_kernel(acc_key(ir::Isa::kScalar, 8, 128, layout, 1));
    REQUIRE_FALSE(k.ok());
    CHECK(k.error().message().find("scalar path runs the reference kernels") != std::string::npos);
  }
  SUBCASE("an AArch64 path given to the x86-64 generators") {
    Result<std::unique_ptr<Kernel>> k =
        x64::x64_backend().build(acc_key(ir::Isa::kNeon, 8, 128, layout, 1));
    REQUIRE_FALSE(k.ok());
    CHECK(k.error().message().find("an AArch64 path has no x86-64 generator") != std::string::npos);
  }
  const std::vector<ir::Isa> isas = test::runnable_isas();
  SUBCASE("too many tokens for the registers") {
    for (const ir::Isa isa : isas) {
      Result<std::unique_ptr<Kernel>> k = build_kernel(acc_key(isa, 8, 128, layout, 64));
      REQUIRE_FALSE(k.ok());
      CHECK(k.error().message().find("n_tile 64") != std::string::npos);
      CHECK(k.error().message().find("lutgemm") != std::string::npos);
    }
  }
  SUBCASE("a row tile off the register quantum") {
    for (const ir::Isa isa : isas) {
      ir::KernelKey key = acc_key(isa, 8, 128, layout, 1);
      key.tuning.row_tile = 8;
      Result<std::unique_ptr<Kernel>> k = build_kernel(key);
      REQUIRE_FALSE(k.ok());
      CHECK(k.error().message().find("row tile 8 must be a multiple of") != std::string::npos);
    }
  }
  SUBCASE("a group size below one step") {
    for (const ir::Isa isa : isas) {
      const WeightLayout small{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 8};
      Result<std::unique_ptr<Kernel>> k = build_kernel(acc_key(isa, 8, 64, small, 1));
      REQUIRE_FALSE(k.ok());
      CHECK(k.error().message().find("group size 8 is not a multiple of 16") != std::string::npos);
    }
  }
}

TEST_CASE("kernels are named in the perf map and dumped when asked") {
  const std::vector<ir::Isa> isas = test::runnable_isas();
  if (isas.empty()) return;
  const std::string dir = fmt::format("/tmp/sherry_jit_dump_{}", getpid());
  REQUIRE(std::system(("mkdir -p " + dir).c_str()) == 0);
  setenv("SHERRY_PERF_MAP", "1", 1);
  setenv("SHERRY_JIT_DUMP", dir.c_str(), 1);
  Result<std::unique_ptr<Kernel>> kernel = build_kernel(
      acc_key(isas.front(), 16, 64,
              WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128}, 1));
  unsetenv("SHERRY_PERF_MAP");
  unsetenv("SHERRY_JIT_DUMP");
  REQUIRE(kernel.ok());
  std::ifstream map(fmt::format("/tmp/perf-{}.map", getpid()));
  std::stringstream text;
  text << map.rdbuf();
  CHECK(text.str().find(
            fmt::format("{:x} {:x} {}", reinterpret_cast<uintptr_t>((*kernel)->code_address()),
                        (*kernel)->code_bytes().size(), (*kernel)->name)) != std::string::npos);
  std::ifstream dump(dir + "/" + (*kernel)->name + ".bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(dump)), std::istreambuf_iterator<char>());
  CHECK(bytes.size() == (*kernel)->code_bytes().size());
  CHECK(std::memcmp(bytes.data(), (*kernel)->code_address(), bytes.size()) == 0);
  std::remove(fmt::format("/tmp/perf-{}.map", getpid()).c_str());
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace sherry::jit

namespace sherry::jit {
namespace {

TEST_CASE("int8 table kernels match the interpreter bit for bit") {
  for (const ir::Isa isa : test::runnable_isas()) {
    ir::KernelKey probe = acc_key(isa, 8, 128, WeightLayout{}, 1);
    probe.table = ir::TablePrecision::kInt8Lossy;
    if (!resolve_kernel_key(probe).ok()) continue;  // the path has no int8 tables
    const int64_t tile = resolve_kernel_key(probe)->tuning.row_tile;
    for (uint32_t seed = 1; seed <= 2; ++seed) {
      for (const LayoutCase& c : layout_cases()) {
        for (const int64_t k : c.ks) {
          for (const int64_t m : {int64_t{1}, tile + 1}) {
            const PackedTensor w = sherry::test::random_packed(m, k, c.layout, seed * 13 + k);
            for (int64_t n = 1; n <= max_n_tile(isa, tile); ++n) {
              ir::KernelKey key = acc_key(isa, m, k, c.layout, n);
              key.table = ir::TablePrecision::kInt8Lossy;
              Result<std::unique_ptr<Kernel>> kernel = build_kernel(key);
              REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
              const QuantizedActivations x = test::random_activations(n, k, seed + 100 * n);
              const std::vector<int32_t> got = run_accumulators(**kernel, w.view(), x);
              Result<ir::InterpreterResult> want = ir::interpret((*kernel)->program, w.view(), x);
              REQUIRE(want.ok());
              if (got != want->acc) {
                FAIL_CHECK("seed ", seed, " kernel ", (*kernel)->name,
                           ": accumulators differ from the interpreter");
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("int8 tables are refused by the paths without them") {
  for (const ir::Isa isa : {ir::Isa::kSsse3, ir::Isa::kAvx2, ir::Isa::kAvx512bw}) {
    ir::KernelKey key = acc_key(isa, 8, 128, WeightLayout{}, 1);
    key.table = ir::TablePrecision::kInt8Lossy;
    Result<ir::KernelKey> resolved = resolve_kernel_key(key);
    REQUIRE_FALSE(resolved.ok());
    CHECK(resolved.error().message().find("int8 tables are generated for avx512vbmi only") !=
          std::string::npos);
  }
}

}  // namespace
}  // namespace sherry::jit
