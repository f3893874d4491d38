// A prepared quantized linear layer: the one call the runtime makes per matmul.
// make_linear repacks the weights once into the chosen kernel's tile layout, fetches (or builds)
// the JIT kernels from the cache, and returns an object whose forward() runs them. Benchmarks
// and the tuner time the same call on copies of the weights (copy_weights + run_with).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/activation_quant.h"
#include "core/error.h"
#include "core/packed_tensor.h"
#include "core/thread_pool.h"
#include "ir/kernel_key.h"
#include "jit/backend.h"
#include "jit/call_buffers.h"

namespace sherry::jit {

enum class KernelBackend : uint8_t {
  kJit,        // best JIT kernel this CPU allows (capped by SHERRY_MAX_ISA)
  kReference,  // core/reference_kernels (integer semantics), for checking
};

struct LinearOptions {
  KernelBackend backend = KernelBackend::kJit;
  int64_t max_tokens = 64;     // largest n forward() will be called with (prefill batch)
  ThreadPool* pool = nullptr;  // nullptr: single-threaded
  std::string name;            // tensor name, for messages and SHERRY_VERBOSE=dispatch
  // Table precision of the JIT kernels: int16 is exact (the reference's integer semantics);
  // int8 tables (ir/tables.h) halve the lookups where a path implements them (avx512vbmi),
  // other paths stay exact.
  ir::TablePrecision table_precision = ir::TablePrecision::kInt16Exact;
  // Only this path (an error if it cannot serve the layer), instead of the best allowed one.
  std::optional<ir::Isa> isa;
  // This tuning, instead of the tuning file's entry or the path's defaults.
  std::optional<ir::Tuning> tuning;
  // Call buffers shared with other layers that never run at the same time as this one (a
  // model's layers; jit/call_buffers.h); nullptr: the layer's own.
  std::shared_ptr<CallBuffers> call_buffers;
};

class Linear {
 public:
  virtual ~Linear() = default;
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }

  // y (n × rows) = W · x (n × cols), token-major floats; x is quantized per token internally.
  void forward(const float* x, int64_t n, float* y) {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }
  // Same, with activations already quantized (q, k and v share one quantization of x).
  void forward_quantized(const QuantizedActivations& x, float* y) { run_with(weights(), x, y); }
  // Same, on `w`: the layer's own weights or a copy_weights() of them.
  virtual void run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) = 0;
  // The exact int32 accumulators of every token, row and scale group, in core's reference
  // layout acc[(t·rows + row)·groups + g] (the testing entry; builds accumulator-output
  // kernels on first use).
  virtual void forward_accumulators(const QuantizedActivations& x, int32_t* acc) = 0;

  virtual const LayerWeights& weights() const = 0;
  std::unique_ptr<LayerWeights> copy_weights() const { return weights().copy(); }
  // Bits per weight of the code stream the kernels read (layout padding included, α excluded).
  double stream_bits_per_weight() const {
    return 8.0 * static_cast<double>(weights().code_bytes) / static_cast<double>(rows_ * cols_);
  }

  // Generated name of the kernel used for n = 1 (and for n > 1 where they differ, those too:
  // the largest lookup GEMM, the dot GEMM).
  virtual std::string kernel_name() const = 0;
  // Which kernels serve several tokens and why (SHERRY_VERBOSE=dispatch); "" when only one
  // family could.
  virtual std::string gemm_choice() const { return ""; }
  // The kernel a forward of `tokens` tokens runs (its full calls' kernel).
  virtual std::string kernel_name_for(int64_t tokens) const { return kernel_name(); }
  // The ISA path serving the layer (kScalar: the reference).
  virtual ir::Isa isa() const = 0;

 protected:
  Linear(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {}
  int64_t rows_;
  int64_t cols_;
};

// The view must stay valid (mmapped file) only during the call: the layer keeps its own repacked
// copy. Errors: a shape or layout no kernel supports, a JIT failure (with the kernel name), a
// path asked for (options.isa) that cannot serve the layer (with the reason).
Result<std::unique_ptr<Linear>> make_linear(const PackedTensorView& weights,
                                            const LinearOptions& options);

// SHERRY_VERBOSE=dispatch: one line naming the layer's kernels and the paths rejected for it.
void report_dispatch(const LinearOptions& options, const Linear& linear,
                     const std::vector<std::string>& rejected);

}  // namespace sherry::jit
