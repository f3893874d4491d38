#include "trainer/qat/quant_method.h"

#include <cmath>
#include <vector>

#include "core/sparse_absmean.h"

namespace sherry::train {

std::string_view to_string(QuantMethod method) {
  switch (method) {
    case QuantMethod::kFp:
      return "fp";
    case QuantMethod::kSherry:
      return "sherry";
    case QuantMethod::kSherryNoArenas:
      return "sherry-noarenas";
    case QuantMethod::kAbsmean:
      return "absmean";
  }
  return "?";
}

Result<QuantMethod> parse_quant_method(std::string_view text) {
  for (QuantMethod m : {QuantMethod::kFp, QuantMethod::kSherry, QuantMethod::kSherryNoArenas,
                        QuantMethod::kAbsmean})
    if (text == to_string(m)) return m;
  return make_error(
      "unknown quantization method '{}' (expected fp, sherry, sherry-noarenas or absmean)", text);
}

namespace {

// Runs body(row, first column, length, scale index) over the scale groups of a matrix, in row
// order: a group never straddles rows (kChannel and kTensor: the whole row is one run).
template <class Body>
void for_each_group(int64_t rows, int64_t cols, const WeightLayout& layout, Body&& body) {
  const int64_t length = accumulation_group_size(layout, cols);
  const int64_t per_row = scale_groups_per_row(layout, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < per_row; ++g) {
      const int64_t scale = layout.granularity == ScaleGranularity::kTensor ? 0 : r * per_row + g;
      body(r, g * length, length, scale);
    }
}

// Sparse-AbsMean 3:4 for contiguous blocks, fused with the forward weight α·t + λ·w: one pass per
// scale group, no division per weight. Bit-identical to core's sparse_absmean_ternary (same tie
// rule, same sign of ±0, α as the double sum of kept |w| in block and lane order over the kept
// count), which the tests check.
template <class Real>
void sherry_contiguous(const float* w, const Real* latent, int64_t rows, int64_t cols,
                       const WeightLayout& layout, Real lambda, Real* out, int8_t* ternary,
                       float* alpha) {
  std::vector<double> sums(scale_count(layout, rows, cols), 0.0);
  std::vector<int64_t> kept(sums.size(), 0);
  for_each_group(rows, cols, layout, [&](int64_t r, int64_t c0, int64_t length, int64_t s) {
    const float* wg = w + r * cols + c0;
    int8_t* tg = ternary + r * cols + c0;
    double sum = sums[s];
    for (int64_t b = 0; b < length; b += kWeightsPerBlock) {
      const float a0 = std::fabs(wg[b]), a1 = std::fabs(wg[b + 1]), a2 = std::fabs(wg[b + 2]),
                  a3 = std::fabs(wg[b + 3]);
      // Strict < keeps the lowest lane on ties, as the core quantizer does.
      int zero = 0;
      float smallest = a0;
      if (a1 < smallest) zero = 1, smallest = a1;
      if (a2 < smallest) zero = 2, smallest = a2;
      if (a3 < smallest) zero = 3, smallest = a3;
      for (int p = 0; p < kWeightsPerBlock; ++p) {
        if (p == zero) {
          tg[b + p] = 0;
          continue;
        }
        tg[b + p] = wg[b + p] < 0.0f ? -1 : 1;
        sum += std::fabs(static_cast<double>(wg[b + p]));
      }
    }
    sums[s] = sum;
    kept[s] += length / kWeightsPerBlock * 3;
  });
  for (size_t s = 0; s < sums.size(); ++s)
    alpha[s] = static_cast<float>(sums[s] / static_cast<double>(kept[s]));
  for_each_group(rows, cols, layout, [&](int64_t r, int64_t c0, int64_t length, int64_t s) {
    const Real a = static_cast<Real>(alpha[s]);
    const int64_t base = r * cols + c0;
    for (int64_t i = base; i < base + length; ++i)
      out[i] = a * static_cast<Real>(ternary[i]) + lambda * latent[i];
  });
}

}  // namespace

void absmean_ternary(const float* w, int64_t rows, int64_t cols, const WeightLayout& layout,
                     int8_t* ternary, float* alpha) {
  std::vector<double> sums(scale_count(layout, rows, cols), 0.0);
  std::vector<int64_t> counts(sums.size(), 0);
  for_each_group(rows, cols, layout, [&](int64_t r, int64_t c0, int64_t length, int64_t s) {
    double sum = 0;
    for (int64_t i = r * cols + c0; i < r * cols + c0 + length; ++i) sum += std::fabs(w[i]);
    sums[s] += sum;
    counts[s] += length;
  });
  for (size_t s = 0; s < sums.size(); ++s)
    alpha[s] = static_cast<float>(sums[s] / static_cast<double>(counts[s]));
  for_each_group(rows, cols, layout, [&](int64_t r, int64_t c0, int64_t length, int64_t s) {
    const float threshold = 0.5f * alpha[s];
    for (int64_t i = r * cols + c0; i < r * cols + c0 + length; ++i) {
      const bool keep = alpha[s] > 0.0f && std::fabs(w[i]) >= threshold;
      ternary[i] = keep ? (w[i] < 0.0f ? -1 : 1) : 0;
    }
  });
}

template <class Real>
void effective_weight(QuantMethod method, const Real* w, int64_t rows, int64_t cols,
                      const WeightLayout& layout, double lambda, Real* out, int8_t* ternary,
                      float* alpha) {
  const int64_t count = rows * cols;
  if (method == QuantMethod::kFp) {
    for (int64_t i = 0; i < count; ++i) out[i] = w[i];
    return;
  }
  const float* wf = nullptr;
  std::vector<float> converted;
  if constexpr (std::is_same_v<Real, float>) {
    wf = w;
  } else {
    converted.assign(w, w + count);
    wf = converted.data();
  }
  if (method == QuantMethod::kAbsmean) {
    absmean_ternary(wf, rows, cols, layout, ternary, alpha);
    for_each_group(rows, cols, layout, [&](int64_t r, int64_t c0, int64_t length, int64_t s) {
      const Real a = static_cast<Real>(alpha[s]);
      for (int64_t i = r * cols + c0; i < r * cols + c0 + length; ++i)
        out[i] = a * static_cast<Real>(ternary[i]);
    });
    return;
  }
  const Real l = static_cast<Real>(method_lambda(method, lambda));
  if (layout.grouping == BlockGrouping::kContiguous) {
    sherry_contiguous<Real>(wf, w, rows, cols, layout, l, out, ternary, alpha);
    return;
  }
  sparse_absmean_ternary(wf, rows, cols, layout, ternary, alpha);
  for_each_group(rows, cols, layout, [&](int64_t r, int64_t c0, int64_t length, int64_t s) {
    const Real a = static_cast<Real>(alpha[s]);
    for (int64_t i = r * cols + c0; i < r * cols + c0 + length; ++i)
      out[i] = a * static_cast<Real>(ternary[i]) + l * w[i];
  });
}

template void effective_weight<float>(QuantMethod, const float*, int64_t, int64_t,
                                      const WeightLayout&, double, float*, int8_t*, float*);
template void effective_weight<double>(QuantMethod, const double*, int64_t, int64_t,
                                       const WeightLayout&, double, double*, int8_t*, float*);

}  // namespace sherry::train
