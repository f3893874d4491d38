#include "core/packed_tensor.h"

#include <random>

#include <doctest/doctest.h>

#include "tests/core/test_util.h"

namespace sherry {
namespace {

constexpr WeightLayout kContiguousGroup128{BlockGrouping::kContiguous, ScaleGranularity::kGroup,
                                           128};

TEST_CASE("allocate sizes codes at 1.25 bits per weight and scales by granularity") {
  const PackedTensor packed = PackedTensor::allocate(6, 256, kContiguousGroup128);
  CHECK(packed.codes.size() == 6 * 40);
  CHECK(packed.codes.size() * 8 == 6 * 256 * 5 / 4);  // exactly 1.25 bits per weight
  CHECK(packed.scales.size() == 12);
  for (const uint8_t byte : packed.codes) CHECK(byte == 0);
  CHECK(packed_row_bytes(32) == 5);
  CHECK(packed_row_bytes(36) == 10);  // a partial chunk takes a whole one
  CHECK(packed_row_bytes(4) == 5);
  const PackedTensor tensor_scale =
      PackedTensor::allocate(3, 36, {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0});
  CHECK(tensor_scale.scales.size() == 1);
  CHECK(tensor_scale.codes.size() == 30);
}

TEST_CASE("set_code writes the documented bit positions") {
  PackedTensor packed =
      PackedTensor::allocate(2, 64, {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0});
  // Row 1, chunk 1 (bytes 15..19 of the tensor): block 8 + j.
  packed.set_code(1, 8 + 0, make_code(1, 0x3));  // byte 0 low nibble, sign bit 0
  packed.set_code(1, 8 + 1, make_code(0, 0xA));  // byte 0 high nibble
  packed.set_code(1, 8 + 6, make_code(1, 0xF));  // byte 3 low nibble, sign bit 6
  packed.set_code(1, 8 + 7, make_code(1, 0x1));  // byte 3 high nibble, sign bit 7
  const uint8_t* chunk = packed.codes.data() + 10 + 5;
  CHECK(chunk[0] == 0xA3);
  CHECK(chunk[1] == 0x00);
  CHECK(chunk[2] == 0x00);
  CHECK(chunk[3] == 0x1F);
  CHECK(chunk[4] == 0xC1);
  // Everything else untouched.
  for (int i = 0; i < 15; ++i) CHECK(packed.codes[i] == 0);
  // Overwriting clears the old bits.
  packed.set_code(1, 8 + 0, make_code(0, 0xC));
  CHECK(chunk[0] == 0xAC);
  CHECK(chunk[4] == 0xC0);
  CHECK(packed.code(1, 8 + 7) == make_code(1, 0x1));
  CHECK(packed.code(1, 8 + 1) == make_code(0, 0xA));
}

TEST_CASE("random codes round trip through set_code and code and padding stays zero") {
  for (const int64_t cols : {4, 28, 36, 100, 128, 260}) {
    std::mt19937 rng(static_cast<uint32_t>(cols));
    PackedTensor packed = PackedTensor::allocate(
        3, cols, {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0});
    std::vector<uint8_t> expected(static_cast<size_t>(3 * cols / 4));
    // Write twice in a shuffled order so overwrites are exercised.
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t i = 0; i < static_cast<int64_t>(expected.size()); ++i) {
        const int64_t j = (i * 7 + pass) % static_cast<int64_t>(expected.size());
        expected[j] = static_cast<uint8_t>(rng() % kCodeCount);
        packed.set_code(j / (cols / 4), j % (cols / 4), expected[j]);
      }
    }
    const PackedTensorView view = packed.view();
    for (int64_t i = 0; i < static_cast<int64_t>(expected.size()); ++i) {
      CHECK(view.code(i / (cols / 4), i % (cols / 4)) == expected[i]);
    }
    // Padding blocks of the last chunk of each row are zero bits.
    const int64_t blocks = cols / 4;
    for (int64_t row = 0; row < 3; ++row) {
      const uint8_t* last = packed.codes.data() + row * view.row_bytes() + view.row_bytes() - 5;
      for (int64_t j = blocks % 8 == 0 ? 8 : blocks % 8; j < 8; ++j) {
        CHECK(((last[j / 2] >> (4 * (j & 1))) & 0xF) == 0);
        CHECK(((last[4] >> j) & 1) == 0);
      }
    }
  }
}

TEST_CASE("the view reads scales by group channel and tensor") {
  PackedTensor group = PackedTensor::allocate(2, 256, kContiguousGroup128);
  for (size_t i = 0; i < group.scales.size(); ++i) group.scales[i] = float_to_fp16(0.25f * (i + 1));
  CHECK(group.view().scale(0, 1) == 0.5f);
  CHECK(group.view().scale(1, 0) == 0.75f);
  CHECK(group.view().scale(1, 1) == 1.0f);
  PackedTensor channel =
      PackedTensor::allocate(3, 8, {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0});
  channel.scales = {float_to_fp16(1.0f), float_to_fp16(2.0f), float_to_fp16(3.0f)};
  CHECK(channel.view().scale(2, 0) == 3.0f);
  PackedTensor tensor =
      PackedTensor::allocate(3, 8, {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 0});
  tensor.scales = {float_to_fp16(-1.5f)};
  CHECK(tensor.view().scale(2, 0) == -1.5f);
}

TEST_CASE("the worked example of docs/format.md packs to the bytes it shows") {
  PackedTensor packed =
      PackedTensor::allocate(1, 8, {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 0});
  const Result<uint8_t> first = encode_ternary_block({1, 0, -1, 1});
  const Result<uint8_t> second = encode_ternary_block({0, -1, -1, -1});
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first.value() == 5);
  CHECK(second.value() == 16);
  packed.set_code(0, 0, first.value());
  packed.set_code(0, 1, second.value());
  CHECK(packed.codes == std::vector<uint8_t>{0x05, 0x00, 0x00, 0x00, 0x02});
}

}  // namespace
}  // namespace sherry
