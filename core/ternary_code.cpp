#include "core/ternary_code.h"

namespace sherry {

Result<uint8_t> encode_ternary_block(const TernaryBlock& block) {
  const auto shown = [&] {
    return fmt::format("({}, {}, {}, {})", block[0], block[1], block[2], block[3]);
  };
  int zeros = 0;
  int zero_lane = -1;
  for (int p = 0; p < kWeightsPerBlock; ++p) {
    if (block[p] < -1 || block[p] > 1) {
      return make_error(
          "invalid ternary block {}: expected values in {{-1, 0, 1}}, found {} at lane {}", shown(),
          block[p], p);
    }
    if (block[p] == 0) {
      ++zeros;
      zero_lane = p;
    }
  }
  if (zeros != 1) {
    return make_error(
        "invalid ternary block {}: expected exactly one zero and three ±1, found {} zeros", shown(),
        zeros);
  }
  int nonzero[3];
  for (int p = 0, i = 0; p < kWeightsPerBlock; ++p) {
    if (p != zero_lane) nonzero[i++] = p;
  }
  const int8_t first = block[nonzero[0]];
  const auto sign = static_cast<uint8_t>(first == -1);
  const auto slot = static_cast<uint8_t>(4 * zero_lane + (block[nonzero[1]] != first) +
                                         2 * (block[nonzero[2]] != first));
  return make_code(sign, slot);
}

TernaryBlock decode_ternary_code(uint8_t code) {
  SHERRY_CHECK(code < kCodeCount, "ternary code {} is not a 5-bit value", code);
  const int negate = code_sign(code) ? -1 : 1;
  TernaryBlock block{};
  for (int p = 0; p < kWeightsPerBlock; ++p) {
    block[p] = static_cast<int8_t>(negate * slot_lane_value(code_slot(code), p));
  }
  return block;
}

}  // namespace sherry
