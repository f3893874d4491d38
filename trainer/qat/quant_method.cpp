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

void absmean_ternary(const float* w, int64_t rows, int64_t cols, int8_t* ternary, float* alpha) {
  const int64_t count = rows * cols;
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += std::fabs(w[i]);
  const float a = static_cast<float>(sum / static_cast<double>(count));
  alpha[0] = a;
  const float inv = 1.0f / (a + kAbsmeanEps);
  for (int64_t i = 0; i < count; ++i) {
    const float r = std::nearbyint(w[i] * inv);
    ternary[i] = static_cast<int8_t>(r > 1.0f ? 1 : (r < -1.0f ? -1 : r));
  }
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
    absmean_ternary(wf, rows, cols, ternary, alpha);
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Real>(alpha[0]) * ternary[i];
    return;
  }
  sparse_absmean_ternary(wf, rows, cols, layout, ternary, alpha);
  const int64_t groups = scale_groups_per_row(layout, cols);
  const int64_t group_size = accumulation_group_size(layout, cols);
  const Real l = static_cast<Real>(method_lambda(method, lambda));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float a = layout.granularity == ScaleGranularity::kTensor
                          ? alpha[0]
                          : alpha[r * groups + c / group_size];
      const int64_t i = r * cols + c;
      out[i] = static_cast<Real>(a) * ternary[i] + l * w[i];
    }
}

template void effective_weight<float>(QuantMethod, const float*, int64_t, int64_t,
                                      const WeightLayout&, double, float*, int8_t*, float*);
template void effective_weight<double>(QuantMethod, const double*, int64_t, int64_t,
                                       const WeightLayout&, double, double*, int8_t*, float*);

}  // namespace sherry::train
