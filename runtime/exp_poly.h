// The constants of the SIMD float kernels' exp (float_kernels_avx2.cpp, float_kernels_avx512.cpp):
// Cephes' expf. x is clamped to ±kExpLimit, split as n·ln 2 + r with n = floor(x·log2 e + ½) and
// ln 2 in two parts (r exact to float), e^r from a degree-7 polynomial on |r| ≤ ½ ln 2, then
// scaled by 2^n through the exponent bits. Within 2 ulp of std::exp where the result is a
// normal float; below e^−87.3 it gives 0 where std::exp gives a subnormal.
#pragma once

namespace sherry::runtime::exp_poly {

inline constexpr float kExpLimit = 88.3762626647949f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
// e^r ≈ 1 + r + r²·(p5 + r·(p4 + r·(p3 + r·(p2 + r·(p1 + r·p0)))))
inline constexpr float kP0 = 1.9875691500e-4f;
inline constexpr float kP1 = 1.3981999507e-3f;
inline constexpr float kP2 = 8.3334519073e-3f;
inline constexpr float kP3 = 4.1665795894e-2f;
inline constexpr float kP4 = 1.6666665459e-1f;
inline constexpr float kP5 = 5.0000001201e-1f;

}  // namespace sherry::runtime::exp_poly
