// A prepared quantized linear layer: the one call the runtime makes per matmul.
// make_linear repacks the weights once into the chosen kernel's tile layout, fetches (or builds)
// the JIT kernels from the cache, and returns an object whose forward() runs them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/activation_quant.h"
#include "core/error.h"
#include "core/packed_tensor.h"
#include "core/thread_pool.h"
#include "ir/kernel_key.h"

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
};

class Linear {
 public:
  virtual ~Linear() = default;
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }

  // y (n × rows) = W · x (n × cols), token-major floats; x is quantized per token internally.
  virtual void forward(const float* x, int64_t n, float* y) = 0;
  // Same, with activations already quantized (q, k and v share one quantization of x).
  virtual void forward_quantized(const QuantizedActivations& x, float* y) = 0;
  // Generated name of the kernel used for n = 1 (and for n > 1 where it differs, both).
  virtual std::string kernel_name() const = 0;

 protected:
  Linear(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {}
  int64_t rows_;
  int64_t cols_;
};

// The view must stay valid (mmapped file) only during the call: the layer keeps its own repacked
// copy. Errors: a shape or layout no kernel supports, a JIT failure (with the kernel name).
Result<std::unique_ptr<Linear>> make_linear(const PackedTensorView& weights,
                                            const LinearOptions& options);

}  // namespace sherry::jit
