#include "jit/linear.h"

#include <vector>

#include "core/reference_kernels.h"

namespace sherry::jit {
namespace {

// The reference backend: core's integer semantics (quantize per token, accumulate, scale).
class ReferenceLinear final : public Linear {
 public:
  explicit ReferenceLinear(const PackedTensorView& w)
      : Linear(w.rows, w.cols),
        weights_{
            w.rows, w.cols, w.layout,
            std::vector<uint8_t>(w.codes, w.codes + w.rows * w.row_bytes()),
            std::vector<uint16_t>(w.scales, w.scales + scale_count(w.layout, w.rows, w.cols))} {}

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }

  void forward_quantized(const QuantizedActivations& x, float* y) override {
    const PackedTensorView w = weights_.view();
    acc_.resize(x.tokens * rows_ * scale_groups_per_row(w.layout, cols_));
    reference_accumulate_i32(w, x, acc_.data());
    reference_scale_accumulators(w, x, acc_.data(), y);
  }

  std::string kernel_name() const override { return "reference_i8"; }

 private:
  PackedTensor weights_;
  std::vector<int32_t> acc_;  // tokens × rows × groups
};

}  // namespace

Result<std::unique_ptr<Linear>> make_linear(const PackedTensorView& weights,
                                            const LinearOptions& options) {
  const std::string what = options.name.empty() ? "matrix" : options.name;
  SHERRY_TRY(validate_layout(weights.layout, weights.rows, weights.cols, what));
  return std::unique_ptr<Linear>(new ReferenceLinear(weights));
}

}  // namespace sherry::jit
