// Differential tests of the generated AArch64 kernels, on an AArch64 host (or under qemu-aarch64,
// scripts/cross_aarch64.sh): an edge-shape sweep over both paths, every layout and both output
// modes, against core's reference (accumulators bit-exact) and the IR interpreter (outputs bit
// for bit: same operations in the same order). Elsewhere the generators are covered by
// a64_codegen_test.cpp and these cases are not compiled.
#include <doctest/doctest.h>

#if defined(__aarch64__)

#include <cstdint>
#include <string>
#include <vector>

#include "core/reference_kernels.h"
#include "ir/interpreter.h"
#include "ir/lower.h"
#include "jit/a64/a64_kernel.h"
#include "jit/a64/a64_lut_gen.h"
#include "jit/a64/a64_sdot_gen.h"
#include "tests/aarch64/a64_test_util.h"
#include "tests/core/test_util.h"

namespace sherry::jit::a64 {
namespace {

using test::channel_layout;
using test::group_layout;
using test::make_key;
using test::tensor_layout;

struct Shape {
  int64_t m, k;
  WeightLayout layout;
};

std::vector<Shape> edge_shapes() {
  const WeightLayout g128 = group_layout(128);
  const WeightLayout s128 = group_layout(128, BlockGrouping::kStride16);
  return {
      {1, 128, g128},
      {16, 128, g128},
      {17, 384, g128},
      {40, 256, s128},
      {33, 192, group_layout(64, BlockGrouping::kStride16)},
      {20, 96, group_layout(32)},
      {18, 1024, group_layout(512)},
      {17, 4, channel_layout()},
      {5, 12, channel_layout()},
      {31, 100, channel_layout()},
      {16, 700, channel_layout()},
      {9, 68, tensor_layout()},
  };
}

void check_kernel(const ir::KernelKey& key, A64Path path, uint32_t seed) {
  Result<A64Kernel> kernel = A64Kernel::build(key, path);
  REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
  INFO("kernel ", kernel->code().name, " seed ", seed);
  const PackedTensor w = sherry::test::random_packed(key.m, key.k, key.layout, seed);
  const std::vector<float> xf = sherry::test::random_floats(key.n_tile * key.k, seed + 1, 3.0f);
  const QuantizedActivations x = quantize_activations_i8(xf.data(), key.n_tile, key.k);

  Result<ir::InterpreterResult> got = run_a64_kernel(*kernel, w.view(), x);
  REQUIRE_MESSAGE(got.ok(), got.error().message());
  Result<ir::InterpreterResult> expected = ir::interpret(kernel->program(), w.view(), x);
  REQUIRE(expected.ok());
  if (key.output == ir::OutputMode::kAccumulators) {
    std::vector<int32_t> acc(
        static_cast<size_t>(key.n_tile * key.m * scale_groups_per_row(key.layout, key.k)));
    reference_accumulate_i32(w.view(), x, acc.data());
    CHECK(got->acc == acc);
  } else {
    REQUIRE(got->y.size() == expected->y.size());
    CHECK(got->y == expected->y);
  }
}

void sweep(A64Path path, const std::vector<int64_t>& token_counts) {
  uint32_t seed = 100;
  for (const Shape& shape : edge_shapes()) {
    for (const int64_t tokens : token_counts) {
      for (const ir::OutputMode output : {ir::OutputMode::kAccumulators, ir::OutputMode::kFloat}) {
        check_kernel(make_key(path, shape.m, shape.k, shape.layout, tokens, output), path, ++seed);
      }
    }
  }
}

TEST_CASE("NEON LUT kernels match the reference on every edge shape") {
  sweep(A64Path::kNeonLut, {1, 2, 4});
}

TEST_CASE("NEON LUT kernels with 32-row tiles match the reference") {
  uint32_t seed = 500;
  for (const Shape& shape : edge_shapes()) {
    for (const ir::OutputMode output : {ir::OutputMode::kAccumulators, ir::OutputMode::kFloat}) {
      ir::KernelKey key = make_key(A64Path::kNeonLut, shape.m, shape.k, shape.layout, 1, output);
      key.tuning.row_tile = 32;
      check_kernel(key, A64Path::kNeonLut, ++seed);
    }
  }
}

TEST_CASE("sdot kernels match the reference on every edge shape") {
  sweep(A64Path::kSdot, {1, 3, 4, 5, 8});
}

// Every table entry at +381 (or -381) for 1024 blocks: int16 lanes would overflow twelve times
// over without widening, int32 holds the exact sum.
TEST_CASE("Extreme activations widen before int16 overflows") {
  const int64_t m = 16, k = 4096;
  for (const A64Path path : {A64Path::kNeonLut, A64Path::kSdot}) {
    for (const uint8_t sign : {0, 1}) {
      const ir::KernelKey key =
          make_key(path, m, k, channel_layout(), 1, ir::OutputMode::kAccumulators);
      Result<A64Kernel> kernel = A64Kernel::build(key, path);
      REQUIRE_MESSAGE(kernel.ok(), kernel.error().message());
      PackedTensor w = PackedTensor::allocate(m, k, key.layout);
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t b = 0; b < k / 4; ++b) w.set_code(r, b, make_code(sign, 0));
      }
      for (uint16_t& s : w.scales) s = float_to_fp16(1.0f);
      const std::vector<float> xf(static_cast<size_t>(k), 1.0f);
      const QuantizedActivations x = quantize_activations_i8(xf.data(), 1, k);
      Result<ir::InterpreterResult> got = run_a64_kernel(*kernel, w.view(), x);
      REQUIRE(got.ok());
      INFO("kernel ", kernel->code().name, " sign ", int{sign});
      const int32_t expected = (sign ? -1 : 1) * 381 * (k / 4);
      for (const int32_t acc : got->acc) CHECK(acc == expected);
    }
  }
}

// The tile range of a call: threads split [0, tiles) and each runs its part.
TEST_CASE("Kernels run any range of row tiles") {
  for (const A64Path path : {A64Path::kNeonLut, A64Path::kSdot}) {
    const ir::KernelKey key = make_key(path, 70, 256, group_layout(128), 1);
    Result<A64Kernel> kernel = A64Kernel::build(key, path);
    REQUIRE(kernel.ok());
    const PackedTensor w = sherry::test::random_packed(key.m, key.k, key.layout, 7);
    const std::vector<float> xf = sherry::test::random_floats(key.k, 8);
    const QuantizedActivations x = quantize_activations_i8(xf.data(), 1, key.k);
    const A64Weights weights = kernel->prepare_weights(w.view());
    std::vector<uint8_t> activations(static_cast<size_t>(kernel->activation_bytes()));
    std::vector<int8_t> scratch(static_cast<size_t>(kernel->program().shape.k_pad));
    kernel->prepare_activations(x, 0, activations.data(), scratch.data());
    std::vector<uint8_t> workspace(static_cast<size_t>(kernel->workspace_bytes()));
    const ir::ProgramShape& s = kernel->program().shape;
    std::vector<float> whole(static_cast<size_t>(s.m_pad)), split(whole.size());
    kernel->run(weights, activations.data(), x.scales.data(), whole.data(), workspace.data(), 0,
                s.tiles());
    kernel->run(weights, activations.data(), x.scales.data(), split.data(), workspace.data(), 2,
                s.tiles());
    kernel->run(weights, activations.data(), x.scales.data(), split.data(), workspace.data(), 0, 2);
    kernel->run(weights, activations.data(), x.scales.data(), split.data(), workspace.data(), 1, 1);
    INFO("kernel ", kernel->code().name);
    CHECK(whole == split);
  }
}

}  // namespace
}  // namespace sherry::jit::a64

#endif  // defined(__aarch64__)
