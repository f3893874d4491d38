// The canonical 5-bit code of a 3:4 sparse ternary block (docs/format.md §1).
//
// A block holds 4 ternary weights t[0..3] with exactly one zero and three ±1.
//   z = the zero lane, n0 < n1 < n2 the non-zero lanes,
//   s = (t[n0] == -1), slot = 4·z + (t[n1] != t[n0]) + 2·(t[n2] != t[n0]),
//   code = (s << 4) | slot.
// The s = 1 half is the exact negation of the s = 0 half ("mirror symmetry").
#pragma once

#include <array>
#include <cstdint>

#include "core/error.h"

namespace sherry {

inline constexpr int kWeightsPerBlock = 4;
inline constexpr int kCodeCount = 32;  // 4 zero positions × 2^3 sign patterns
inline constexpr int kSlotCount = 16;  // codes per sign half: one pshufb lane

using TernaryBlock = std::array<int8_t, kWeightsPerBlock>;

// Encodes a valid block; anything else (zero count != 1, a value outside {-1,0,1}) is an Error
// that shows the block.
Result<uint8_t> encode_ternary_block(const TernaryBlock& block);

// Decodes a code in [0, 32). A larger code is an internal error (codes come from 5-bit fields).
TernaryBlock decode_ternary_code(uint8_t code);

constexpr uint8_t code_sign(uint8_t code) {
  return code >> 4;
}
constexpr uint8_t code_slot(uint8_t code) {
  return code & 0x0F;
}
constexpr uint8_t make_code(uint8_t sign, uint8_t slot) {
  return static_cast<uint8_t>((sign << 4) | slot);
}
// Lane holding the zero of a slot.
constexpr int slot_zero_lane(uint8_t slot) {
  return slot >> 2;
}

// Sign-0 value of lane p for a slot: the value the table entry of that slot multiplies
// activation p by. (Sign-1 values are the negation.)
constexpr int slot_lane_value(uint8_t slot, int lane) {
  const int zero = slot >> 2;
  if (lane == zero) return 0;
  const int rank = lane < zero ? lane : lane - 1;  // 0, 1, 2 among the non-zero lanes
  if (rank == 0) return 1;
  const int flipped = rank == 1 ? (slot & 1) : ((slot >> 1) & 1);
  return flipped ? -1 : 1;
}

// Value of lane p of a code's block: t[p] ∈ {−1, 0, +1}.
constexpr int code_lane_value(uint8_t code, int lane) {
  const int value = slot_lane_value(code_slot(code), lane);
  return code_sign(code) ? -value : value;
}

}  // namespace sherry
