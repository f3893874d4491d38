#include "runtime/linear_group.h"

#include <cstring>
#include <numeric>

#include "runtime/gguf/gguf_file.h"

namespace sherry::runtime {
namespace {

// The members' weights stacked row-wise into one tensor, when rows_stackable allows it.
std::optional<PackedTensor> stack_rows(std::span<const QuantizedWeights> members) {
  std::vector<PackedTensorView> views;
  int64_t rows = 0;
  for (const QuantizedWeights& w : members) {
    views.push_back(w.view());
    rows += views.back().rows;
  }
  if (!rows_stackable(views)) return std::nullopt;
  const PackedTensorView& first = views.front();
  PackedTensor stacked = PackedTensor::allocate(rows, first.cols, first.layout);
  uint8_t* codes = stacked.codes.data();
  uint16_t* scales = stacked.scales.data();
  for (const QuantizedWeights& w : members) {
    const PackedTensorView v = w.view();
    const int64_t code_bytes = v.rows * v.row_bytes();
    const int64_t scale_values = scale_count(v.layout, v.rows, v.cols);
    std::memcpy(codes, v.codes, static_cast<size_t>(code_bytes));
    std::memcpy(scales, v.scales, static_cast<size_t>(scale_values) * sizeof(uint16_t));
    codes += code_bytes;
    scales += scale_values;
  }
  return stacked;
}

}  // namespace

Result<LinearGroup> LinearGroup::load(const gguf::Reader& reader, std::span<const Member> members,
                                      int64_t cols, const LinearLoadOptions& options) {
  LinearGroup group;
  bool quantized = true;
  std::string name;
  for (const Member& m : members) {
    auto info = reader.require_tensor(m.name, {cols, m.rows});
    if (!info) return info.error();
    quantized = quantized && !float_type_of((*info)->type).has_value();
    group.rows_.push_back(m.rows);
    name += (name.empty() ? "" : "+") + m.name;
  }
  if (quantized && members.size() > 1) {
    std::vector<QuantizedWeights> weights;
    for (const Member& m : members) {
      Result<QuantizedWeights> w = read_quantized_weights(reader, m.name, options.stq1_0_grouping);
      if (!w) return w.error();
      weights.push_back(std::move(*w));
    }
    if (std::optional<PackedTensor> stacked = stack_rows(weights)) {
      Result<LinearLayer> layer = LinearLayer::from_packed(stacked->view(), name, options);
      if (!layer) return layer.error().with_context(reader.path());
      for (const QuantizedWeights& w : weights) w.release_mapping();
      group.fused_ = std::make_unique<LinearLayer>(std::move(*layer));
      const int64_t total = std::accumulate(group.rows_.begin(), group.rows_.end(), int64_t{0});
      // Untouched until a forward writes it: pages cost RSS only once used.
      group.fused_out_.reset(new float[static_cast<size_t>(options.max_tokens * total)]);
      return group;
    }
  }
  for (const Member& m : members) {
    Result<LinearLayer> layer = LinearLayer::load(reader, m.name, m.rows, cols, options);
    if (!layer) return layer.error();
    group.layers_.push_back(std::move(*layer));
  }
  return group;
}

void LinearGroup::quantize_input(const float* x, int64_t n, QuantizedActivations& qx,
                                 ThreadPool* pool) const {
  if (fused_ != nullptr) return quantize_into(x, n, fused_->cols(), qx, pool);
  for (const LinearLayer& layer : layers_) {
    if (layer.quantized()) return quantize_into(x, n, layer.cols(), qx, pool);
  }
}

void LinearGroup::forward(const float* x, int64_t n, const QuantizedActivations& qx,
                          std::span<float* const> outputs) {
  SHERRY_CHECK(outputs.size() == rows_.size(), "{} outputs for {} members", outputs.size(),
               rows_.size());
  SHERRY_CHECK(qx.tokens == n || !has_quantized_member(), "input quantized for {} tokens, not {}",
               qx.tokens, n);
  if (fused_ != nullptr) {
    fused_->forward_quantized(qx, fused_out_.get());
    // Each member's rows of every token into its own output.
    const int64_t total = fused_->rows();
    for (int64_t t = 0; t < n; ++t) {
      const float* row = fused_out_.get() + t * total;
      for (size_t i = 0; i < rows_.size(); ++i) {
        std::memcpy(outputs[i] + t * rows_[i], row, static_cast<size_t>(rows_[i]) * sizeof(float));
        row += rows_[i];
      }
    }
    return;
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    LinearLayer& layer = layers_[i];
    if (layer.quantized()) {
      layer.forward_quantized(qx, outputs[i]);
    } else {
      layer.forward(x, n, outputs[i]);
    }
  }
}

bool LinearGroup::has_quantized_member() const {
  if (fused_ != nullptr) return true;
  for (const LinearLayer& layer : layers_) {
    if (layer.quantized()) return true;
  }
  return false;
}

int64_t LinearGroup::weight_bytes() const {
  if (fused_ != nullptr) return fused_->weight_bytes();
  int64_t bytes = 0;
  for (const LinearLayer& layer : layers_) bytes += layer.weight_bytes();
  return bytes;
}

std::string LinearGroup::kernel_name() const {
  return fused_ != nullptr ? fused_->kernel_name() : layers_.front().kernel_name();
}

}  // namespace sherry::runtime
