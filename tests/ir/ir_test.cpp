// Kernel keys, lowering, printer, verifier, and the interpreter against core's reference.
#include <doctest/doctest.h>

#include <tuple>
#include <type_traits>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/reference_kernels.h"
#include "ir/interpreter.h"
#include "ir/kernel_key.h"
#include "ir/lower.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "tests/core/test_util.h"

namespace sherry::ir {
namespace {

KernelKey make_key(int64_t m, int64_t k, const WeightLayout& layout, int64_t n_tile = 1) {
  KernelKey key;
  key.op = n_tile == 1 ? KernelOp::kGemv : KernelOp::kGemm;
  key.isa = Isa::kScalar;
  key.m = m;
  key.k = k;
  key.n_tile = n_tile;
  key.layout = layout;
  return key;
}

// Targets shaped like the x86 paths: wide row tiles, 4-block steps, int16 or folded int32.
std::vector<LoweringTarget> targets() {
  LoweringTarget i16;
  i16.row_tile = 32;
  i16.blocks_per_step = 4;
  i16.accumulate_i16 = true;
  LoweringTarget folded;
  folded.row_tile = 64;
  folded.row_tile_quantum = 32;
  folded.blocks_per_step = 4;
  folded.lookup = LookupMode::kSignFolded;
  return {scalar_target(), i16, folded};
}

QuantizedActivations random_activations(int64_t tokens, int64_t cols, uint32_t seed) {
  const std::vector<float> x = test::random_floats(tokens * cols, seed);
  return quantize_activations_i8(x.data(), tokens, cols);
}

void check_against_reference(const KernelKey& key, const LoweringTarget& target, uint32_t seed,
                             const PackedTensor& w, const QuantizedActivations& x) {
  Result<Program> program = lower(key, target);
  REQUIRE_MESSAGE(program.ok(), program.error().message());
  REQUIRE_MESSAGE(verify(*program).ok(), verify(*program).error().message());
  Result<InterpreterResult> got = interpret(*program, w.view(), x);
  REQUIRE(got.ok());
  std::vector<int32_t> acc(got->acc.size());
  reference_accumulate_i32(w.view(), x, acc.data());
  INFO("kernel ", program->name, " seed ", seed);
  CHECK(got->acc == acc);
  if (key.output == OutputMode::kFloat) {
    std::vector<float> y(static_cast<size_t>(x.tokens * key.m));
    reference_scale_accumulators(w.view(), x, acc.data(), y.data());
    CHECK(got->y == y);  // same operations in the same order: bit-exact
  }
}

TEST_CASE("kernel names are generated from the key") {
  KernelKey key = make_key(2048, 8192, WeightLayout{});
  key.isa = Isa::kAvx512vbmi;
  key.tuning.row_tile = 64;
  CHECK(kernel_name(key) == "lutgemv_s125g128c_i16__avx512vbmi_m2048_k8192_t64");
  key.op = KernelOp::kGemm;
  key.n_tile = 4;
  key.output = OutputMode::kAccumulators;
  key.layout = WeightLayout{BlockGrouping::kStride16, ScaleGranularity::kChannel, 128};
  CHECK(kernel_name(key) == "lutgemm_s125gchs_i16_acc__avx512vbmi_m2048_k8192_n4_t64");
}

TEST_CASE("kernel keys compare and hash by every field") {
  const KernelKey a = make_key(64, 128, WeightLayout{});
  KernelKey b = a;
  CHECK(a == b);
  CHECK(KernelKeyHash{}(a) == KernelKeyHash{}(b));
  b.tuning.prefetch = 256;
  CHECK_FALSE(a == b);
  CHECK(KernelKeyHash{}(a) != KernelKeyHash{}(b));
}

// Perturbs field `index` of the key's field list by one step (enums to the next value).
KernelKey with_field_changed(KernelKey key, size_t index) {
  size_t i = 0;
  std::apply(
      [&](auto&... field) {
        ((i++ == index ? (void)(field = static_cast<std::remove_reference_t<decltype(field)>>(
                                    static_cast<int64_t>(field) + 1))
                       : (void)0),
         ...);
      },
      key.fields());
  return key;
}

TEST_CASE("changing any key field changes equality the hash and the kernel name") {
  KernelKey key = make_key(64, 128, WeightLayout{});
  key.op = KernelOp::kGemm;
  key.n_tile = 2;
  key.tuning.row_tile = 64;
  key.tuning.prefetch = 0;  // a resolved key: names spell resolved tunings
  constexpr size_t kFields = std::tuple_size_v<decltype(key.fields())>;
  constexpr size_t kActivationField = 8;  // one value only: not in the name (kernel_key.cpp)
  for (size_t i = 0; i < kFields; ++i) {
    const KernelKey changed = with_field_changed(key, i);
    INFO("field ", i);
    CHECK_FALSE(changed == key);
    CHECK(KernelKeyHash{}(changed) != KernelKeyHash{}(key));
    if (i != kActivationField) CHECK(kernel_name(changed) != kernel_name(key));
  }
  CHECK(std::get<kActivationField>(key.fields()) == ActivationQuant::kPerTokenI8);
}

TEST_CASE("unknown ISA and op names are rejected with the accepted list") {
  Result<Isa> isa = parse_isa("avx9");
  REQUIRE_FALSE(isa.ok());
  CHECK(isa.error().message().find("'avx9'") != std::string::npos);
  CHECK(isa.error().message().find("avx512vbmi") != std::string::npos);
  CHECK(parse_isa("avx2").value() == Isa::kAvx2);
  Result<KernelOp> op = parse_kernel_op("conv");
  REQUIRE_FALSE(op.ok());
  CHECK(op.error().message().find("'conv'") != std::string::npos);
}

TEST_CASE("lowering prints the program after every step") {
  std::vector<std::string> steps;
  std::string last;
  Result<Program> program = lower(make_key(100, 256, WeightLayout{}), targets()[1],
                                  [&](std::string_view step, const Program& p) {
                                    steps.emplace_back(step);
                                    last = print_program(p);
                                  });
  REQUIRE(program.ok());
  CHECK(steps == std::vector<std::string>{"naive", "tile_rows", "step_blocks", "accumulate_i16"});
  CHECK(last.find("lookup_accumulate sign_after_lookup i16 (32 rows x 4 blocks)") !=
        std::string::npos);
  CHECK(last.find("widen i16 -> i32") != std::string::npos);
  CHECK(last.find("m 100 (padded 128)") != std::string::npos);
  CHECK(last == print_program(*program));
}

TEST_CASE("int16 accumulation widens before 85 lookups") {
  // Per-channel scales over 8192 columns: 512 steps of 4 blocks, widened every 16 steps.
  const KernelKey key =
      make_key(32, 8192, WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128});
  Result<Program> program = lower(key, targets()[1]);
  REQUIRE(program.ok());
  CHECK(program->shape.steps_per_chunk == 16);
  CHECK(program->shape.chunks_per_group == 32);
  CHECK(verify(*program).ok());
}

TEST_CASE("the verifier rejects broken programs") {
  Result<Program> lowered = lower(make_key(64, 512, WeightLayout{}), targets()[1]);
  REQUIRE(lowered.ok());
  SUBCASE("a chunk that can overflow int16") {
    // Per-channel over 2048 columns: 128 steps, widened every 16; stretch the chunks to 32.
    Result<Program> channel =
        lower(make_key(64, 2048,
                       WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128}),
              targets()[1]);
    REQUIRE(channel.ok());
    Program p = *channel;
    p.shape.steps_per_chunk = 32;
    p.shape.chunks_per_group = 4;
    Loop& chunk = std::get<Loop>(std::get<Loop>(std::get<Loop>(p.body[1]).body[1]).body[1]);
    chunk.extent = 4;
    std::get<Loop>(chunk.body[0]).extent = 32;
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("128 int16 lookups") != std::string::npos);
    CHECK(status.error().message().find("can overflow") != std::string::npos);
  }
  SUBCASE("a loop extent that disagrees with the shape") {
    Program p = *lowered;
    p.shape.groups = 2;
    p.shape.steps_per_chunk = 16;
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("extent") != std::string::npos);
  }
  SUBCASE("a missing widen") {
    Program p = *lowered;
    Loop& tile = std::get<Loop>(p.body[1]);
    Loop& chunk = std::get<Loop>(std::get<Loop>(tile.body[1]).body[1]);
    chunk.body.pop_back();
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("widen") != std::string::npos);
  }
  SUBCASE("a misplaced statement") {
    Program p = *lowered;
    std::get<Loop>(p.body[1]).body.push_back(InitAccumulators{});
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("init_accumulators") != std::string::npos);
  }
  SUBCASE("tables and lookups that disagree on the sign") {
    Program p = *lowered;
    std::get<BuildTables>(std::get<Loop>(p.body[0]).body[1]).mode = LookupMode::kSignFolded;
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("lookup mode") != std::string::npos);
  }
}

TEST_CASE("lowering rejects keys no program can serve") {
  SUBCASE("a group size that is not whole steps") {
    Result<Program> p = lower(
        make_key(8, 64, WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 8}),
        targets()[1]);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message().find("group size 8 is not a multiple of 16") != std::string::npos);
  }
  SUBCASE("a tuned row tile off the quantum") {
    KernelKey key = make_key(64, 128, WeightLayout{});
    key.tuning.row_tile = 48;
    Result<Program> p = lower(key, targets()[2]);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message().find("row tile 48 is not a multiple of 32") != std::string::npos);
  }
  SUBCASE("a layout that does not fit the shape") {
    Result<Program> p = lower(make_key(8, 100, WeightLayout{}), targets()[0]);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message().find("100") != std::string::npos);
  }
  SUBCASE("a GEMV with several tokens") {
    KernelKey key = make_key(8, 128, WeightLayout{});
    key.n_tile = 2;
    Result<Program> p = lower(key, targets()[0]);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message().find("n_tile 1") != std::string::npos);
  }
}

TEST_CASE("the interpreter rejects weights of another shape") {
  Result<Program> p = lower(make_key(8, 128, WeightLayout{}), scalar_target());
  REQUIRE(p.ok());
  const PackedTensor w = test::random_packed(8, 256, WeightLayout{}, 1);
  Result<InterpreterResult> r = interpret(*p, w.view(), random_activations(1, 256, 2));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("8 x 256") != std::string::npos);
  const PackedTensor w2 = test::random_packed(8, 128, WeightLayout{}, 1);
  Result<InterpreterResult> r2 = interpret(*p, w2.view(), random_activations(2, 128, 2));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message().find("2 tokens") != std::string::npos);
}

TEST_CASE("the interpreter matches the reference over edge shapes and layouts") {
  const std::vector<WeightLayout> layouts = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64},
      {BlockGrouping::kStride16, ScaleGranularity::kGroup, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128},
      {BlockGrouping::kStride16, ScaleGranularity::kTensor, 128},
  };
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    for (const WeightLayout& layout : layouts) {
      const int64_t unit = layout.grouping == BlockGrouping::kStride16 ? 64 : 4;
      const int64_t min_k =
          layout.granularity == ScaleGranularity::kGroup ? layout.group_size : unit;
      for (const int64_t k : {min_k, 2 * min_k, min_k == 4 ? int64_t{36} : 3 * min_k}) {
        for (const int64_t m : {int64_t{1}, int64_t{33}, int64_t{65}}) {
          for (const int64_t n : {int64_t{1}, int64_t{3}}) {
            if (layout.granularity == ScaleGranularity::kGroup && k % layout.group_size != 0)
              continue;
            const PackedTensor w = test::random_packed(m, k, layout, seed * 7 + 1);
            const QuantizedActivations x = random_activations(n, k, seed);
            for (const LoweringTarget& target : targets()) {
              for (const OutputMode output : {OutputMode::kFloat, OutputMode::kAccumulators}) {
                KernelKey key = make_key(m, k, layout, n);
                key.output = output;
                check_against_reference(key, target, seed, w, x);
              }
            }
          }
        }
      }
    }
  }
}

// The x86-64 dot target: 64-row tiles in quanta of 32, 4-block steps, int32 throughout.
LoweringTarget dot_target() {
  LoweringTarget target;
  target.row_tile = 64;
  target.row_tile_quantum = 32;
  target.blocks_per_step = 4;
  return target;
}

TEST_CASE("dot programs interpret to the reference for any token count up to n_tile") {
  const std::vector<WeightLayout> layouts = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
      {BlockGrouping::kStride16, ScaleGranularity::kGroup, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128},
      {BlockGrouping::kStride16, ScaleGranularity::kTensor, 128},
  };
  for (uint32_t seed = 1; seed <= 2; ++seed) {
    for (const WeightLayout& layout : layouts) {
      const int64_t k = layout.granularity == ScaleGranularity::kGroup ? 2 * layout.group_size
                        : layout.grouping == BlockGrouping::kStride16  ? 192
                                                                       : 36;
      for (const int64_t m : {int64_t{1}, int64_t{65}}) {
        const PackedTensor w = test::random_packed(m, k, layout, seed * 5 + 3);
        for (const int64_t n : {int64_t{1}, int64_t{4}}) {
          for (const OutputMode output : {OutputMode::kFloat, OutputMode::kAccumulators}) {
            KernelKey key = make_key(m, k, layout, 4);
            key.op = KernelOp::kDotGemm;
            key.output = output;
            check_against_reference(key, dot_target(), seed, w, random_activations(n, k, seed));
          }
        }
      }
    }
  }
}

TEST_CASE("dot programs have their own statements and no tables") {
  KernelKey key = make_key(64, 256, WeightLayout{}, 8);
  key.op = KernelOp::kDotGemm;
  Result<Program> lowered = lower(key, dot_target());
  REQUIRE(lowered.ok());
  CHECK(verify(*lowered).ok());
  const std::string text = print_program(*lowered);
  CHECK(text.find("decode_weights w = t + 1 (64 rows x 256 cols)") != std::string::npos);
  CHECK(text.find("init_accumulators minus_activation_sums") != std::string::npos);
  CHECK(text.find("dot_accumulate i32") != std::string::npos);
  CHECK(text.find("build_tables") == std::string::npos);
  SUBCASE("a dot program without its decode") {
    Program p = *lowered;
    Body& tile = std::get<Loop>(p.body[1]).body;
    tile.erase(tile.begin());
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("dot_accumulate before decode_weights") !=
          std::string::npos);
  }
  SUBCASE("a dot program with tables") {
    Program p = *lowered;
    std::get<Loop>(p.body[0]).body.push_back(BuildTables{LookupMode::kSignAfterLookup});
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("a dotgemm program has no build_tables") !=
          std::string::npos);
  }
  SUBCASE("accumulators that start at zero") {
    Program p = *lowered;
    Loop& group = std::get<Loop>(std::get<Loop>(p.body[1]).body[2]);
    group.body[0] = InitAccumulators{AccInit::kZero};
    Status status = verify(p);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message().find("a dotgemm program needs minus_activation_sums") !=
          std::string::npos);
  }
  SUBCASE("int8 tables asked of a dot kernel") {
    KernelKey int8 = key;
    int8.table = TablePrecision::kInt8Lossy;
    Result<Program> p = lower(int8, dot_target());
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message().find("a dot kernel has no tables") != std::string::npos);
  }
  SUBCASE("more tokens than n_tile") {
    const PackedTensor w = test::random_packed(64, 256, WeightLayout{}, 1);
    Result<InterpreterResult> r = interpret(*lowered, w.view(), random_activations(9, 256, 2));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("expects 1 .. 8 x 256") != std::string::npos);
  }
}

TEST_CASE("per-channel int16 accumulation with extreme activations stays exact") {
  // All codes slot 0 sign 0 against +127: every lookup adds 381, 2048 times per row.
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128};
  PackedTensor w = PackedTensor::allocate(32, 8192, layout);
  for (uint16_t& s : w.scales) s = float_to_fp16(1.0f);
  QuantizedActivations x;
  x.tokens = 1;
  x.cols = 8192;
  x.values.assign(8192, 127);
  x.scales = {1.0f};
  for (const uint8_t code : {uint8_t{0}, uint8_t{16}}) {
    for (int64_t b = 0; b < 2048; ++b) w.set_code(5, b, code);
    check_against_reference(make_key(32, 8192, layout), targets()[1], 0, w, x);
  }
}

}  // namespace
}  // namespace sherry::ir

namespace sherry::ir {
namespace {

TEST_CASE("int8 tables are exact when every group's largest entry is 127") {
  // Each block's activations are one ±127 and three zeros: entries are 0 or ±127, so every
  // group requantizes with inv = 1 and the accumulators equal the exact ones.
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64};
  const PackedTensor w = test::random_packed(40, 256, layout, 4);
  std::mt19937 rng(5);
  QuantizedActivations x;
  x.tokens = 2;
  x.cols = 256;
  x.values.assign(512, 0);
  x.scales = {0.5f, 0.25f};
  for (int64_t b = 0; b < 128; ++b) x.values[4 * b + rng() % 4] = (rng() & 1) ? 127 : -127;
  for (const LoweringTarget& target : targets()) {
    KernelKey key = make_key(40, 256, layout, 2);
    key.table = TablePrecision::kInt8Lossy;
    Result<Program> program = lower(key, target);
    REQUIRE(program.ok());
    CHECK(program->name.find("_i8") != std::string::npos);
    Result<InterpreterResult> got = interpret(*program, w.view(), x);
    REQUIRE(got.ok());
    std::vector<int32_t> acc(got->acc.size());
    reference_accumulate_i32(w.view(), x, acc.data());
    CHECK(got->acc == acc);
  }
}

TEST_CASE("int8 tables stay within half a step of the exact outputs") {
  // Each entry moves by at most τ/2, so a group's error is at most τ/2 per block.
  const WeightLayout layout{BlockGrouping::kStride16, ScaleGranularity::kGroup, 128};
  const int64_t m = 33, k = 512;
  const PackedTensor w = test::random_packed(m, k, layout, 6);
  const QuantizedActivations x = random_activations(1, k, 7);
  KernelKey key = make_key(m, k, layout, 1);
  key.table = TablePrecision::kInt8Lossy;
  Result<Program> program = lower(key, targets()[2]);
  REQUIRE(program.ok());
  Result<InterpreterResult> got = interpret(*program, w.view(), x);
  REQUIRE(got.ok());
  std::vector<int32_t> acc(static_cast<size_t>(m * 4));
  reference_accumulate_i32(w.view(), x, acc.data());
  std::vector<float> y(static_cast<size_t>(m));
  reference_scale_accumulators(w.view(), x, acc.data(), y.data());
  // The largest entry of a group is at most 381, so τ ≤ 3.
  for (int64_t r = 0; r < m; ++r) {
    double bound = 0.0;
    for (int64_t g = 0; g < 4; ++g) bound += 0.5 * 3.0 * 32 * w.view().scale(r, g);
    bound = x.scales[0] * bound * 1.001 + 1e-6;
    CHECK(std::fabs(got->y[r] - y[r]) <= bound);
  }
  CHECK(got->acc != acc);  // lossy: the accumulators count int8 steps
}

}  // namespace
}  // namespace sherry::ir
