// Linear layers that read the same input: q, k and v; gate and up. Where their weights allow it
// (all quantized, one layout, scales per group or row) their rows are stacked into one matrix at
// load, so a forward quantizes the input once, builds the kernels' tables once and makes one
// dispatch over the threads; otherwise the layers run one after the other on one quantization of
// the input.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/linear_layer.h"

namespace sherry::runtime {

class LinearGroup {
 public:
  struct Member {
    std::string name;  // tensor name
    int64_t rows;      // its output width
  };
  // Every member must exist with shape [cols, rows] (LinearLayer::load's errors otherwise).
  static Result<LinearGroup> load(const gguf::Reader& reader, std::span<const Member> members,
                                  int64_t cols, const LinearLoadOptions& options);

  // The shared int8 quantization of x (n × cols) into `qx` (sized for at least n tokens), when
  // a member is quantized; tokens split over the pool's threads.
  void quantize_input(const float* x, int64_t n, QuantizedActivations& qx, ThreadPool* pool) const;
  // outputs[i] (n × rows of member i) = member i applied to x (n × cols), after quantize_input
  // of the same x into qx; n ≤ the load's max_tokens.
  void forward(const float* x, int64_t n, const QuantizedActivations& qx,
               std::span<float* const> outputs);

  bool fused() const { return fused_ != nullptr; }
  bool has_quantized_member() const;
  int64_t weight_bytes() const;
  // Kernel name of the first member (of the stacked matrix when fused).
  std::string kernel_name() const;

 private:
  std::vector<int64_t> rows_;
  std::vector<LinearLayer> layers_;     // one per member, when not fused
  std::unique_ptr<LinearLayer> fused_;  // the stacked matrix
  std::unique_ptr<float[]> fused_out_;  // max_tokens × Σ rows
};

}  // namespace sherry::runtime
