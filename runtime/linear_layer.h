// One weight matrix of the model as the forward pass uses it: Sherry or STQ1_0 weights on a
// jit::Linear (JIT kernels, or the reference ones for checking), F32/F16/BF16 weights on the float
// GEMM straight from the mapped file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/activation_quant.h"
#include "jit/linear.h"
#include "runtime/float_kernels.h"

namespace sherry::gguf {
class Reader;
}

namespace sherry::runtime {

struct LinearLoadOptions {
  jit::KernelBackend backend = jit::KernelBackend::kJit;
  int64_t max_tokens = 64;
  ThreadPool* pool = nullptr;
  double* jit_seconds = nullptr;  // time spent in make_linear is added here
  BlockGrouping stq1_0_grouping = BlockGrouping::kStride16;  // of STQ1_0 tensors (the file's)
};

class LinearLayer {
 public:
  // Tensor `name` must exist with ggml shape [cols, rows] and a supported type. Errors name the
  // file, the tensor, the expectation and what was found.
  static Result<LinearLayer> load(const gguf::Reader& reader, const std::string& name, int64_t rows,
                                  int64_t cols, const LinearLoadOptions& options);
  // A float matrix that is not a tensor of its own (the tied output head).
  static LinearLayer from_float(const FloatMatrix& matrix, ThreadPool* pool);

  // Repacks an F32/F16/BF16 layer into Q8_0 blocks it owns (an 8-bit LM head: 8.5 bits per
  // weight instead of 16). With release_source the mapped pages of the source are dropped from
  // the process as they are converted (when nothing else reads them), so the peak RSS does not
  // hold both copies. No-op for other layers or cols not a multiple of 32.
  void repack_q8_0(bool release_source);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // True when the layer takes int8 activations (forward_quantized).
  bool quantized() const { return kernel_ != nullptr; }

  void forward(const float* x, int64_t n, float* y);
  void forward_quantized(const QuantizedActivations& x, float* y);  // quantized() only
  // Bytes of weights one forward pass reads (packed codes and scales, or the float matrix).
  int64_t weight_bytes() const { return weight_bytes_; }
  // Kernel name, or "float_gemm_<type>_<isa>".
  std::string kernel_name() const;

 private:
  LinearLayer() = default;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t weight_bytes_ = 0;
  std::unique_ptr<jit::Linear> kernel_;
  FloatMatrix matrix_;
  std::vector<Q8_0Block> owned_;  // repacked weights, when matrix_ points here
  ThreadPool* pool_ = nullptr;
};

// Quantizes n tokens of `cols` floats into `out` (sized for at least n tokens: no allocation).
void quantize_into(const float* x, int64_t n, int64_t cols, QuantizedActivations& out);

}  // namespace sherry::runtime
