// IEEE binary16 (fp16) and bfloat16 conversions, round-to-nearest-even, NaN/Inf preserved.
#pragma once

#include <cstdint>

namespace sherry {

uint16_t float_to_fp16(float value);
float fp16_to_float(uint16_t bits);
uint16_t float_to_bf16(float value);
float bf16_to_float(uint16_t bits);

// Rounds a float to the nearest fp16-representable value (what storing α as fp16 does).
inline float round_to_fp16(float value) {
  return fp16_to_float(float_to_fp16(value));
}

}  // namespace sherry
