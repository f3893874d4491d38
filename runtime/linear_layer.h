// One weight matrix of the model as the forward pass uses it: Sherry or STQ1_0 weights on a
// jit::Linear (JIT kernels, or the reference ones for checking), F32/F16/BF16 weights on the float
// GEMM straight from the mapped file, Q4_K/Q5_K/Q6_K weights on the int8 GEMM
// (runtime/int8_gemm.h) straight from the mapped file, Q8_0 on either (q8_0_activations).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/activation_quant.h"
#include "core/packed_tensor.h"
#include "jit/linear.h"
#include "runtime/float_kernels.h"
#include "runtime/int8_gemm.h"

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
  // The JIT layers' call buffers, shared by layers that run one after another (nullptr: each
  // layer its own).
  std::shared_ptr<jit::CallBuffers> call_buffers;
};

// How Q8_0 weights take their activations: as floats (float_gemm: each block's int8 widened to
// float, FMA with the float activations; the default) or quantized to int8 per block of 32
// (int8_gemm). From the environment variable SHERRY_Q8_0_ACTIVATIONS ("float", "int8"; unset or
// empty: float) until the lead's measurement settles the default (docs/runtime.md). Errors: any
// other value, naming the variable.
enum class Q8_0Activations : uint8_t { kFloat, kInt8 };
Result<Q8_0Activations> q8_0_activations();

class LinearLayer {
 public:
  // Tensor `name` must exist with ggml shape [cols, rows] and a supported type. Errors name the
  // file, the tensor, the expectation and what was found.
  static Result<LinearLayer> load(const gguf::Reader& reader, const std::string& name, int64_t rows,
                                  int64_t cols, const LinearLoadOptions& options);
  // A matrix that is not a tensor of its own (the tied output head), of any FloatType; int8
  // activations for up to max_tokens tokens per pass when its type takes them.
  static LinearLayer from_float(const FloatMatrix& matrix, ThreadPool* pool,
                                int64_t max_tokens = 64);
  // Sherry-packed weights on the JIT kernels (repacked: the view may go after the call);
  // `name` names the layer in messages. Errors: make_linear's.
  static Result<LinearLayer> from_packed(const PackedTensorView& weights, const std::string& name,
                                         const LinearLoadOptions& options);

  // Repacks an F32/F16/BF16 layer into Q8_0 blocks it owns (an 8-bit LM head: 8.5 bits per
  // weight instead of 16). With release_source the mapped pages of the source are dropped from
  // the process as they are converted (when nothing else reads them), so the peak RSS does not
  // hold both copies. No-op for other layers (already quantized ones included) or cols not a
  // multiple of 32.
  void repack_q8_0(bool release_source);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // True when the layer takes int8 activations (forward_quantized).
  bool quantized() const { return kernel_ != nullptr; }

  void forward(const float* x, int64_t n, float* y);
  void forward_quantized(const QuantizedActivations& x, float* y);  // quantized() only
  // Bytes of weights one forward pass reads (packed codes and scales, or the float matrix).
  int64_t weight_bytes() const { return weight_bytes_; }
  // Kernel name, "float_gemm_<type>_<isa>" or "int8_gemm_<type>_<path>".
  std::string kernel_name() const;

 private:
  LinearLayer() = default;
  // Sets matrix_ and, when its type runs on the int8 GEMM, the activation buffers.
  void set_matrix(const FloatMatrix& matrix, Q8_0Activations q8_0);
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t weight_bytes_ = 0;
  std::unique_ptr<jit::Linear> kernel_;
  FloatMatrix matrix_;
  std::vector<Q8_0Block> owned_;  // repacked weights, when matrix_ points here
  ThreadPool* pool_ = nullptr;
  int64_t max_tokens_ = 64;
  bool int8_ = false;       // matrix_ runs on int8_gemm
  Int8Activations int8_x_;  // its activations, max_tokens_ × cols_
};

// A quantized tensor of the file as Sherry-packed weights: Sherry tensors as a view of the
// mapping, STQ1_0 converted (lossless) into a copy.
struct QuantizedWeights {
  std::optional<PackedTensorView> mapped;
  PackedTensor owned;

  PackedTensorView view() const { return mapped ? *mapped : owned.view(); }
  // Drops the mapped pages once a kernel holds its own copy (no-op for converted tensors).
  void release_mapping() const;
};
// Errors: a type other than Sherry or STQ1_0 (naming the file, the tensor and the type), or the
// tensor reader's. The tensor must exist (looked up by the caller). STQ1_0 blocks are read in
// `stq1_0_grouping` (the file's, LlamaModel works it out).
Result<QuantizedWeights> read_quantized_weights(const gguf::Reader& reader, const std::string& name,
                                                BlockGrouping stq1_0_grouping);

// Quantizes n tokens of `cols` floats into `out` (sized for at least n tokens: no allocation),
// the tokens split over the pool's threads when there is a pool and more than one token.
void quantize_into(const float* x, int64_t n, int64_t cols, QuantizedActivations& out,
                   ThreadPool* pool = nullptr);

}  // namespace sherry::runtime
