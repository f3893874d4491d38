#include "runtime/k_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace sherry::runtime {
namespace {

constexpr int kSubBlocks4 = 8;   // Q4_K/Q5_K sub-blocks of 32 per super-block
constexpr int kSubBlocks6 = 16;  // Q6_K sub-blocks of 16
constexpr float kLargestFp16 = 65504.0f;
// Below this largest |value| a Q6_K sub-block counts as all zero (llama.cpp's GROUP_MAX_EPS).
constexpr float kZeroBlock = 1e-15f;

// Rounds to the nearest integer, ties to even, for |v| ≤ 2²² (larger values are clamped first):
// adding 1.5·2²³ leaves the rounded integer in the low mantissa bits.
int nearest_int(float v) {
  v = std::clamp(v, -4194303.0f, 4194303.0f);
  const float shifted = v + 12582912.0f;
  int32_t bits = 0;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// fp16 of a non-negative scale, saturated at the largest finite fp16.
uint16_t saturated_fp16(float scale) {
  return float_to_fp16(std::min(scale, kLargestFp16));
}

// ---- the fits (the float arithmetic, operation for operation, of llama.cpp's reference
// quantizer, so that its choice is among the candidates quantize_row_* compares) ----

// Scale and minimum of one Q4_K/Q5_K sub-block: x ≈ scale·l − min with l ∈ [0, nmax] and
// min ≥ 0, weights w. The grid over [min(x, 0), max(x)] in nmax steps is the start; then grids
// of nmax + rmin + rdelta·s steps (s = 0..steps), each with the scale and offset refitted to its
// codes by weighted least squares (the offset kept ≤ 0), and the one of least weighted squared
// error is kept.
struct ScaleMin {
  float scale = 0.0f;
  float min = 0.0f;
};

ScaleMin fit_scale_min(const float* x, const float* w, int n, int nmax, float rmin, float rdelta,
                       int steps) {
  float lo = x[0];
  float hi = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) return {0.0f, -lo};
  float inverse = static_cast<float>(nmax) / (hi - lo);
  float scale = 1 / inverse;
  float offset = lo;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(inverse * (x[i] - lo)), 0, nmax);
    float diff = scale * static_cast<float>(l) + lo - x[i];
    diff = diff * diff;
    best_error += w[i] * diff;
  }
  uint8_t codes[32];
  for (int s = 0; s <= steps; ++s) {
    inverse = (rmin + rdelta * static_cast<float>(s) + static_cast<float>(nmax)) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(inverse * (x[i] - lo)), 0, nmax);
      codes[i] = static_cast<uint8_t>(l);
      const float lf = static_cast<float>(l);
      sum_l += w[i] * lf;
      sum_l2 += w[i] * lf * lf;
      sum_xl += w[i] * lf * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_offset = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_offset > 0) {
        this_offset = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(codes[i]) + this_offset - x[i];
        diff = diff * diff;
        error += w[i] * diff;
      }
      if (error < best_error) {
        best_error = error;
        scale = this_scale;
        offset = this_offset;
      }
    }
  }
  return {scale, -offset};
}

// Scale of one Q6_K sub-block: x ≈ scale·l with l ∈ [−nmax, nmax − 1], weighted by x² (the
// large weights matter most): the grid through the largest |x| at −nmax, then grids of
// nmax + 0.1·s steps (s = ±1..±9), each with the least-squares scale of its codes; the one
// that explains most of Σ w·x² (largest (Σ w·x·l)² / Σ w·l²) is kept.
float fit_scale(const float* x, int n, int nmax) {
  float largest = 0;  // the value of largest magnitude, with its sign
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      largest = x[i];
    }
  }
  if (amax < kZeroBlock) return 0.0f;
  const auto sums = [&](float inverse, float& sum_lx, float& sum_l2) {
    sum_lx = 0;
    sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(inverse * x[i]), -nmax, nmax - 1);
      const float lf = static_cast<float>(l);
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * lf;
      sum_l2 += w * lf * lf;
    }
  };
  float sum_lx = 0, sum_l2 = 0;
  sums(-static_cast<float>(nmax) / largest, sum_lx, sum_l2);
  float scale = sum_l2 != 0 ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int s = -9; s <= 9; ++s) {
    if (s == 0) continue;
    sums(-(static_cast<float>(nmax) + 0.1f * static_cast<float>(s)) / largest, sum_lx, sum_l2);
    if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  return scale;
}

// ---- choosing the integer scales ----

// Candidates for an integer scale (or minimum): the plain rounding first (kept on ties), then
// its neighbours inside [lo, hi], then 0, so that a sub-block is never worse than all zeros
// (scales that fp16 cannot hold underflow to 0 and leave the minimum alone).
int candidates(int rounded, int lo, int hi, int out[4]) {
  int count = 0;
  out[count++] = rounded;
  if (rounded - 1 >= lo) out[count++] = rounded - 1;
  if (rounded + 1 <= hi) out[count++] = rounded + 1;
  if (rounded < -1 || rounded > 1) out[count++] = 0;
  return count;
}

// Squared error of a Q4_K/Q5_K sub-block under integer scale sc and minimum m, each weight at its
// nearest code (written to `codes`); the values are computed as the dequantizer does.
double sub_block_error_k4(const float* x, int nmax, float d, float dmin, int sc, int m,
                          uint8_t* codes) {
  const float dl = d * static_cast<float>(sc);
  const float ml = dmin * static_cast<float>(m);
  double error = 0;
  for (int i = 0; i < 32; ++i) {
    int l = 0;
    if (dl != 0) l = std::clamp(nearest_int((x[i] + ml) / dl), 0, nmax);
    codes[i] = static_cast<uint8_t>(l);
    const double diff = static_cast<double>(x[i]) - (dl * static_cast<float>(l) - ml);
    error += diff * diff;
  }
  return error;
}

// The same for a Q6_K sub-block of 16 under scale sc (codes hold q + 32).
double sub_block_error_k6(const float* x, float d, int sc, uint8_t* codes) {
  const float dl = d * static_cast<float>(sc);
  double error = 0;
  for (int i = 0; i < 16; ++i) {
    int l = 0;
    if (dl != 0) l = std::clamp(nearest_int(x[i] / dl), -32, 31);
    codes[i] = static_cast<uint8_t>(l + 32);
    const double diff = static_cast<double>(x[i]) - dl * static_cast<float>(l);
    error += diff * diff;
  }
  return error;
}

void pack_k_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    packed[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
    packed[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
}

// One Q4_K/Q5_K super-block: fp16 d and dmin, the packed scales and the 256 codes in weight order.
struct K4SuperBlock {
  uint16_t d = 0;
  uint16_t dmin = 0;
  uint8_t scales[12] = {};
  uint8_t codes[256] = {};
};

K4SuperBlock quantize_k4_super_block(const float* x, int nmax, float rmin, float rdelta,
                                     int steps) {
  ScaleMin fits[kSubBlocks4];
  float max_scale = 0;
  float max_min = 0;
  for (int j = 0; j < kSubBlocks4; ++j) {
    const float* xj = x + 32 * j;
    // Each weight counts by the sub-block's RMS plus its own magnitude.
    float sum_x2 = 0;
    for (int i = 0; i < 32; ++i) sum_x2 += xj[i] * xj[i];
    const float rms = std::sqrt(sum_x2 / 32);
    float w[32];
    for (int i = 0; i < 32; ++i) w[i] = rms + std::fabs(xj[i]);
    fits[j] = fit_scale_min(xj, w, 32, nmax, rmin, rdelta, steps);
    if (fits[j].scale > max_scale) max_scale = fits[j].scale;
    if (fits[j].min > max_min) max_min = fits[j].min;
  }
  K4SuperBlock out;
  out.d = saturated_fp16(max_scale / 63.f);
  out.dmin = saturated_fp16(max_min / 63.f);
  const float d = fp16_to_float(out.d);
  const float dmin = fp16_to_float(out.dmin);
  // The plain rounding of each fit against the super-block scale (what llama.cpp stores), then
  // the best of it and its neighbours.
  float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  if (max_scale / 63.f > kLargestFp16) inv_scale = 1.0f / kLargestFp16;
  if (max_min / 63.f > kLargestFp16) inv_min = 1.0f / kLargestFp16;
  uint8_t sc[kSubBlocks4], m[kSubBlocks4];
  for (int j = 0; j < kSubBlocks4; ++j) {
    const int sc0 = std::min<int>(63, static_cast<uint8_t>(nearest_int(inv_scale * fits[j].scale)));
    const int m0 = std::min<int>(63, static_cast<uint8_t>(nearest_int(inv_min * fits[j].min)));
    int sc_candidates[4], m_candidates[4];
    const int sc_count = candidates(sc0, 0, 63, sc_candidates);
    const int m_count = candidates(m0, 0, 63, m_candidates);
    double best = INFINITY;
    uint8_t codes[32];
    for (int a = 0; a < sc_count; ++a) {
      for (int b = 0; b < m_count; ++b) {
        const double error =
            sub_block_error_k4(x + 32 * j, nmax, d, dmin, sc_candidates[a], m_candidates[b], codes);
        if (error < best) {
          best = error;
          sc[j] = static_cast<uint8_t>(sc_candidates[a]);
          m[j] = static_cast<uint8_t>(m_candidates[b]);
          std::memcpy(out.codes + 32 * j, codes, 32);
        }
      }
    }
    if (best == INFINITY) {  // NaN errors (non-finite input): the plain rounding
      sc[j] = static_cast<uint8_t>(sc0);
      m[j] = static_cast<uint8_t>(m0);
      sub_block_error_k4(x + 32 * j, nmax, d, dmin, sc0, m0, out.codes + 32 * j);
    }
  }
  pack_k_scales(sc, m, out.scales);
  return out;
}

}  // namespace

void unpack_k_scales(const uint8_t packed[12], uint8_t sc[8], uint8_t m[8]) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = packed[j] & 63;
    m[j] = packed[j + 4] & 63;
    sc[j + 4] = static_cast<uint8_t>((packed[j + 8] & 15) | (packed[j] >> 6) << 4);
    m[j + 4] = static_cast<uint8_t>((packed[j + 8] >> 4) | (packed[j + 4] >> 6) << 4);
  }
}

namespace {

// Q4_K and Q5_K: (d·sc_j)·q − (dmin·m_j), q from `code`.
template <class Block, int (*code)(const Block&, int)>
void dequantize_row_k4(const Block* blocks, int64_t cols, float* out) {
  for (int64_t b = 0; b < cols / kKQuantBlockWeights; ++b) {
    const Block& block = blocks[b];
    const float d = fp16_to_float(block.d);
    const float dmin = fp16_to_float(block.dmin);
    uint8_t sc[8], m[8];
    unpack_k_scales(block.scales, sc, m);
    float* y = out + b * kKQuantBlockWeights;
    for (int j = 0; j < kSubBlocks4; ++j) {
      const float dl = d * static_cast<float>(sc[j]);
      const float ml = dmin * static_cast<float>(m[j]);
      for (int i = 32 * j; i < 32 * j + 32; ++i) {
        y[i] = dl * static_cast<float>(code(block, i)) - ml;
      }
    }
  }
}

}  // namespace

void dequantize_row_q4_k(const Q4_KBlock* blocks, int64_t cols, float* out) {
  dequantize_row_k4<Q4_KBlock, q4_k_code>(blocks, cols, out);
}

void dequantize_row_q5_k(const Q5_KBlock* blocks, int64_t cols, float* out) {
  dequantize_row_k4<Q5_KBlock, q5_k_code>(blocks, cols, out);
}

void dequantize_row_q6_k(const Q6_KBlock* blocks, int64_t cols, float* out) {
  for (int64_t b = 0; b < cols / kKQuantBlockWeights; ++b) {
    const Q6_KBlock& block = blocks[b];
    const float d = fp16_to_float(block.d);
    float* y = out + b * kKQuantBlockWeights;
    for (int i = 0; i < 256; ++i) {
      const float dl = d * static_cast<float>(block.scales[i / 16]);
      y[i] = dl * static_cast<float>(q6_k_code(block, i) - 32);
    }
  }
}

void quantize_row_q4_k(const float* x, int64_t cols, Q4_KBlock* out) {
  for (int64_t b = 0; b < cols / kKQuantBlockWeights; ++b) {
    const K4SuperBlock q =
        quantize_k4_super_block(x + b * kKQuantBlockWeights, 15, -1.0f, 0.1f, 20);
    Q4_KBlock& block = out[b];
    block.d = q.d;
    block.dmin = q.dmin;
    std::memcpy(block.scales, q.scales, 12);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        block.qs[32 * c + l] =
            static_cast<uint8_t>(q.codes[64 * c + l] | q.codes[64 * c + 32 + l] << 4);
      }
    }
  }
}

void quantize_row_q5_k(const float* x, int64_t cols, Q5_KBlock* out) {
  for (int64_t b = 0; b < cols / kKQuantBlockWeights; ++b) {
    const K4SuperBlock q =
        quantize_k4_super_block(x + b * kKQuantBlockWeights, 31, -0.5f, 0.1f, 15);
    Q5_KBlock& block = out[b];
    block.d = q.d;
    block.dmin = q.dmin;
    std::memcpy(block.scales, q.scales, 12);
    std::memset(block.qh, 0, sizeof(block.qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int low = q.codes[64 * c + l];
        const int high = q.codes[64 * c + 32 + l];
        block.qs[32 * c + l] = static_cast<uint8_t>((low & 15) | (high & 15) << 4);
        block.qh[l] |= static_cast<uint8_t>((low >> 4) << (2 * c) | (high >> 4) << (2 * c + 1));
      }
    }
  }
}

void quantize_row_q6_k(const float* x, int64_t cols, Q6_KBlock* out) {
  for (int64_t b = 0; b < cols / kKQuantBlockWeights; ++b) {
    const float* xb = x + b * kKQuantBlockWeights;
    Q6_KBlock& block = out[b];
    std::memset(&block, 0, sizeof(block));
    float scales[kSubBlocks6];
    float max_scale = 0;  // the fitted scale of largest magnitude, with its sign
    float max_abs = 0;
    for (int j = 0; j < kSubBlocks6; ++j) {
      scales[j] = fit_scale(xb + 16 * j, 16, 32);
      if (std::fabs(scales[j]) > max_abs) {
        max_abs = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    uint8_t codes[256];
    std::memset(codes, 32, sizeof(codes));  // q = 0
    if (max_abs >= kZeroBlock) {
      // d = |max_scale| / 128 with the sign that maps max_scale to the integer scale −128.
      float inverse = -128.f / max_scale;
      if (max_abs / 128.f > kLargestFp16)
        inverse = max_scale > 0 ? -1 / kLargestFp16 : 1 / kLargestFp16;
      block.d = float_to_fp16(std::clamp(1 / inverse, -kLargestFp16, kLargestFp16));
      const float d = fp16_to_float(block.d);
      for (int j = 0; j < kSubBlocks6; ++j) {
        const int sc0 = std::clamp(nearest_int(inverse * scales[j]), -128, 127);
        int sc_candidates[4];
        const int count = candidates(sc0, -128, 127, sc_candidates);
        double best = INFINITY;
        uint8_t sub_codes[16];
        for (int a = 0; a < count; ++a) {
          const double error = sub_block_error_k6(xb + 16 * j, d, sc_candidates[a], sub_codes);
          if (error < best) {
            best = error;
            block.scales[j] = static_cast<int8_t>(sc_candidates[a]);
            std::memcpy(codes + 16 * j, sub_codes, 16);
          }
        }
        if (best == INFINITY) {
          block.scales[j] = static_cast<int8_t>(std::clamp(sc0, -128, 127));
          sub_block_error_k6(xb + 16 * j, d, block.scales[j], codes + 16 * j);
        }
      }
    }
    for (int half = 0; half < 2; ++half) {
      const uint8_t* c = codes + 128 * half;
      for (int l = 0; l < 32; ++l) {
        block.ql[64 * half + l] = static_cast<uint8_t>((c[l] & 15) | (c[l + 64] & 15) << 4);
        block.ql[64 * half + 32 + l] =
            static_cast<uint8_t>((c[l + 32] & 15) | (c[l + 96] & 15) << 4);
        block.qh[32 * half + l] = static_cast<uint8_t>(
            c[l] >> 4 | (c[l + 32] >> 4) << 2 | (c[l + 64] >> 4) << 4 | (c[l + 96] >> 4) << 6);
      }
    }
  }
}

}  // namespace sherry::runtime
