#include "core/stq1_0.h"

#include <cstring>
#include <limits>
#include <random>

#include <doctest/doctest.h>

#include "core/reference_kernels.h"
#include "core/sparse_absmean.h"
#include "tests/core/test_util.h"

namespace sherry {
namespace {

TEST_CASE("PackedTensor to STQ1_0 and back is identical") {
  for (const int64_t cols : {256, 768}) {
    const PackedTensor w = test::random_packed(3, cols, kStq1_0Layout, static_cast<uint32_t>(cols));
    const Result<std::vector<Stq1_0Block>> blocks = pack_stq1_0(w.view());
    REQUIRE(blocks.ok());
    CHECK(blocks->size() == static_cast<size_t>(3 * cols / 256));
    const Result<PackedTensor> back = unpack_stq1_0(blocks->data(), 3, cols);
    REQUIRE(back.ok());
    CHECK(back->layout == kStq1_0Layout);
    CHECK(back->codes == w.codes);
    CHECK(back->scales == w.scales);
  }
  // A quantized matrix too.
  const std::vector<float> x = test::random_floats(2 * 512, 5);
  const Result<PackedTensor> q = quantize_sparse_absmean(x.data(), 2, 512, kStq1_0Layout);
  REQUIRE(q.ok());
  const Result<std::vector<Stq1_0Block>> blocks = pack_stq1_0(q->view());
  REQUIRE(blocks.ok());
  const Result<PackedTensor> back = unpack_stq1_0(blocks->data(), 2, 512);
  REQUIRE(back.ok());
  CHECK(dequantize(back->view()) == dequantize(q->view()));
}

TEST_CASE("STQ1_0 blocks to PackedTensor and back are byte identical") {
  std::mt19937 rng(42);
  std::vector<Stq1_0Block> blocks(4 * 2);
  for (Stq1_0Block& b : blocks) {
    for (uint8_t& v : b.qs) v = static_cast<uint8_t>(rng());
    for (uint8_t& v : b.sign) v = static_cast<uint8_t>(rng());
    b.d = float_to_fp16(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng));
  }
  const Result<PackedTensor> packed = unpack_stq1_0(blocks.data(), 4, 512);
  REQUIRE(packed.ok());
  const Result<std::vector<Stq1_0Block>> again = pack_stq1_0(packed->view());
  REQUIRE(again.ok());
  REQUIRE(again->size() == blocks.size());
  CHECK(std::memcmp(again->data(), blocks.data(), blocks.size() * sizeof(Stq1_0Block)) == 0);
}

TEST_CASE("a hand built STQ1_0 block decodes to the documented weights") {
  // Two blocks in one row (512 weights). All slots 0 and signs 0 except:
  //   block 0 group 0: slot 11 (zero lane 2, lanes 1 and 3 flipped), sign 0 → (1, -1, 0, -1)
  //   block 0 group 1: slot 5 (zero lane 1, lane 2 flipped), sign 1 → -(1, 0, -1, 1)
  //   block 0 group 17: slot 15 (zero lane 3, both flipped), sign 1 → -(1, -1, -1, 0)
  //   block 1 group 63: slot 2 (zero lane 0, lane 3 flipped), sign 1 → -(0, 1, 1, -1)
  Stq1_0Block blocks[2] = {};
  blocks[0].qs[0] = 0x5B;  // group 0 low nibble 11, group 1 high nibble 5
  blocks[0].sign[0] = 0x02;
  blocks[0].qs[8] = 0xF0;  // group 17 high nibble
  blocks[0].sign[2] = 0x02;
  blocks[0].d = float_to_fp16(0.5f);
  blocks[1].qs[31] = 0x20;  // group 63 high nibble
  blocks[1].sign[7] = 0x80;
  blocks[1].d = float_to_fp16(-3.0f);
  const Result<PackedTensor> packed = unpack_stq1_0(blocks, 1, 512);
  REQUIRE(packed.ok());
  const std::vector<float> w = dequantize(packed->view());
  // Group g of block i covers weights 256·i + 64·(g/16) + g%16 + 16·p.
  auto at = [&](int block, int group, int lane) {
    return w[256 * block + 64 * (group / 16) + group % 16 + 16 * lane];
  };
  CHECK(at(0, 0, 0) == 0.5f);
  CHECK(at(0, 0, 1) == -0.5f);
  CHECK(at(0, 0, 2) == 0.0f);
  CHECK(at(0, 0, 3) == -0.5f);
  CHECK(w[0] == 0.5f);  // group 0 lane 0 is weight 0, lane 1 weight 16, ...
  CHECK(w[16] == -0.5f);
  CHECK(w[48] == -0.5f);
  CHECK(w[1] == -0.5f);  // group 1 lane 0 is weight 1
  CHECK(w[17] == 0.0f);
  CHECK(w[33] == 0.5f);
  CHECK(w[49] == -0.5f);
  CHECK(w[65] == -0.5f);  // group 17: weights 65 81 97 113
  CHECK(w[81] == 0.5f);
  CHECK(w[97] == 0.5f);
  CHECK(w[113] == 0.0f);
  CHECK(w[256 + 192 + 15] == 0.0f);  // block 1 group 63: weights 463 479 495 511
  CHECK(w[256 + 192 + 31] == 3.0f);
  CHECK(w[256 + 192 + 47] == 3.0f);
  CHECK(w[511] == -3.0f);
  // Untouched groups hold slot 0 sign 0: (0, 1, 1, 1) times d.
  CHECK(at(0, 2, 0) == 0.0f);
  CHECK(at(0, 2, 3) == 0.5f);
  CHECK(at(1, 40, 1) == -3.0f);
}

TEST_CASE("STQ1_0 with contiguous quads round trips and decodes group g to weights 4g to 4g+3") {
  const WeightLayout contiguous = stq1_0_layout(BlockGrouping::kContiguous);
  const PackedTensor w = test::random_packed(3, 512, contiguous, 7);
  const Result<std::vector<Stq1_0Block>> blocks = pack_stq1_0(w.view());
  REQUIRE(blocks.ok());
  const Result<PackedTensor> back =
      unpack_stq1_0(blocks->data(), 3, 512, "w", BlockGrouping::kContiguous);
  REQUIRE(back.ok());
  CHECK(back->layout == contiguous);
  CHECK(back->codes == w.codes);
  CHECK(back->scales == w.scales);
  // The same bytes read with the other grouping are the same codes at other columns: every group
  // of 4 stays one 3:4 block, so only the dequantized order differs.
  const Result<PackedTensor> strided = unpack_stq1_0(blocks->data(), 3, 512, "w");
  REQUIRE(strided.ok());
  CHECK(strided->codes == w.codes);
  CHECK(dequantize(strided->view()) != dequantize(w.view()));

  // The hand-built group 1 of the block test above (slot 5, sign 1 → -(1, 0, -1, 1)) covers
  // weights 4..7 when the quads are contiguous.
  Stq1_0Block block = {};
  block.qs[0] = 0x50;
  block.sign[0] = 0x02;
  block.d = float_to_fp16(0.5f);
  const Result<PackedTensor> one = unpack_stq1_0(&block, 1, 256, "w", BlockGrouping::kContiguous);
  REQUIRE(one.ok());
  const std::vector<float> x = dequantize(one->view());
  CHECK(x[4] == -0.5f);
  CHECK(x[5] == 0.0f);
  CHECK(x[6] == 0.5f);
  CHECK(x[7] == -0.5f);
  CHECK(x[0] == 0.0f);  // group 0: slot 0 sign 0 → (0, 1, 1, 1)
  CHECK(x[1] == 0.5f);
}

TEST_CASE("STQ1_0 conversion rejects shapes layouts and scales it cannot represent") {
  const PackedTensor group128 =
      test::random_packed(2, 256, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128}, 1);
  Result<std::vector<Stq1_0Block>> blocks = pack_stq1_0(group128.view(), "blk.1.ffn_down.weight");
  REQUIRE_FALSE(blocks.ok());
  CHECK(blocks.error().message() ==
        "blk.1.ffn_down.weight: layout contiguous block grouping with group scales group_size 128 "
        "cannot be written as STQ1_0: expected group scales of group_size 256");
  const PackedTensor channel =
      test::random_packed(2, 256, {BlockGrouping::kStride16, ScaleGranularity::kChannel, 0}, 2);
  blocks = pack_stq1_0(channel.view(), "w");
  REQUIRE_FALSE(blocks.ok());
  CHECK(blocks.error().message() ==
        "w: layout stride16 block grouping with channel scales cannot be written as STQ1_0: "
        "expected group scales of group_size 256");
  const PackedTensor narrow =
      test::random_packed(2, 192, {BlockGrouping::kStride16, ScaleGranularity::kGroup, 64}, 3);
  blocks = pack_stq1_0(narrow.view(), "w");
  REQUIRE_FALSE(blocks.ok());
  CHECK(blocks.error().message() ==
        "w (shape 2 x 192): STQ1_0 needs a positive row count and cols a multiple of 256, found "
        "rows 2 and cols 192");

  Stq1_0Block raw[2] = {};
  Result<PackedTensor> packed = unpack_stq1_0(raw, 1, 320, "tok");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "tok (shape 1 x 320): STQ1_0 needs a positive row count and cols a multiple of 256, found "
        "rows 1 and cols 320");
  packed = unpack_stq1_0(raw, 0, 256, "tok");
  REQUIRE_FALSE(packed.ok());
  CHECK(packed.error().message() ==
        "tok (shape 0 x 256): STQ1_0 needs a positive row count and cols a multiple of 256, found "
        "rows 0 and cols 256");
  raw[1].d = 0x7C00;
  packed = unpack_stq1_0(raw, 2, 256, "tok");
  REQUIRE_FALSE(packed.ok());
  CHECK(
      packed.error().message() ==
      "tok: STQ1_0 block 0 of row 1 has scale d = inf (fp16 bits 0x7c00): expected a finite value");
  raw[1].d = 0x7E00;
  packed = unpack_stq1_0(raw, 1, 512, "tok");
  REQUIRE_FALSE(packed.ok());
  CHECK(
      packed.error().message() ==
      "tok: STQ1_0 block 1 of row 0 has scale d = nan (fp16 bits 0x7e00): expected a finite value");
}

TEST_CASE("STQ1_0 type ids and size are the published ones") {
  CHECK(sizeof(Stq1_0Block) == 42);
  CHECK(kStq1_0TypeIdReleased == 42);
  CHECK(kStq1_0TypeIdLlamaCpp == 43);
  // 42 bytes per 256 weights.
  CHECK(sizeof(Stq1_0Block) * 8.0 / kStq1_0BlockWeights == 1.3125);
}

}  // namespace
}  // namespace sherry
