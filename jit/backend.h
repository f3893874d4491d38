// The backend interface: everything the front end (kernel cache, dispatch, jit::KernelLinear)
// asks of a code generator, implemented once per architecture (jit/x64/x64_backend.h,
// jit/a64/a64_backend.h). A layer's life on a backend:
//   resolve_key     fill the key's default tuning, reject what the registers cannot hold;
//   lowering_target how the kernel program is lowered for the path (ir/lower.h);
//   build           lower, verify, generate and map the code of a resolved key;
//   prepare_weights repack the layer's weights once into the kernels' layout;
//   prepare_token   per token of a call, the host prologue (block order, tables);
//   run             a range of row tiles of one call;
//   read_accumulators  accumulator outputs of a call in core's reference layout (tests, tuner).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "core/packed_tensor.h"
#include "ir/kernel_key.h"
#include "ir/lower.h"
#include "jit/kernel.h"
#include "jit/paths.h"

namespace sherry::jit {

// A layer's weights in a backend's layout, shared by every kernel of the layer (one row tile).
class LayerWeights {
 public:
  virtual ~LayerWeights() = default;
  // A separate copy at another address (cold benchmarks rotate through copies).
  virtual std::unique_ptr<LayerWeights> copy() const = 0;

  int64_t code_bytes = 0;    // the weight codes a call streams, layout padding included
  int64_t stream_bytes = 0;  // everything a call reads per row and group: codes, α, biases
};

// Weights held as one value of a backend's own type (copied by its copy constructor).
template <class T>
class OwnedWeights final : public LayerWeights {
 public:
  OwnedWeights(T weights, int64_t code, int64_t stream) : value(std::move(weights)) {
    code_bytes = code;
    stream_bytes = stream;
  }
  std::unique_ptr<LayerWeights> copy() const override {
    return std::make_unique<OwnedWeights>(*this);
  }
  T value;
};

// Sizes of a kernel's per-call buffers.
struct CallSizes {
  int64_t activation_bytes = 0;  // one call's prepared activations (n_tile tokens)
  int64_t out_bytes = 0;         // one call's output (float or accumulators)
  int64_t scratch_bytes = 0;     // per thread, for prepare_token
  int64_t workspace_bytes = 0;   // per thread, for run
};

// One call: n_tile tokens' prepared activations, their scales, where the output goes; a dot
// kernel's call has `tokens` tokens (1 .. n_tile).
struct CallArgs {
  const uint8_t* activations = nullptr;
  const float* scales = nullptr;
  void* out = nullptr;
  int64_t tokens = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;  // "x86-64", "aarch64"
  // Whether the code it builds runs on this host (AArch64 code is also built on x86-64 for
  // listings, but not cached or run there).
  virtual bool runs_here() const = 0;

  virtual Result<ir::KernelKey> resolve_key(const ir::KernelKey& key) const = 0;
  virtual Result<ir::LoweringTarget> lowering_target(const ir::KernelKey& resolved) const = 0;
  // Largest tokens per call of the path's kernels at this row tile (0: the default).
  virtual int64_t max_n_tile(ir::Isa isa, int64_t row_tile) const = 0;
  virtual Result<std::unique_ptr<Kernel>> build(const ir::KernelKey& resolved) const = 0;

  virtual std::unique_ptr<LayerWeights> prepare_weights(const Kernel& kernel,
                                                        const PackedTensorView& w) const = 0;
  virtual CallSizes call_sizes(const Kernel& kernel) const = 0;
  // Token `index` (< kernel n_tile) of a call: writes its part of `call_activations`.
  virtual void prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                             uint8_t* call_activations, int8_t* scratch) const = 0;
  virtual void run(const Kernel& kernel, const LayerWeights& w, const CallArgs& call,
                   int64_t tile_begin, int64_t tile_end, uint8_t* workspace) const = 0;
  // The first `tokens` tokens of an accumulator-output call, as acc[(t·m + row)·groups + g].
  virtual void read_accumulators(const Kernel& kernel, const void* out, int64_t tokens,
                                 int32_t* acc) const = 0;
};

// The backend of a path; nullptr for the reference path and for a backend not in this build.
const Backend* backend_for(ir::Isa isa);

}  // namespace sherry::jit
