// Layers in the baseline formats, for comparing 1.25 vs 1.67 vs 2 bits/weight on equal terms:
// the same activation quantization (per token int8), the same threading (a ThreadPool over row
// tiles), the same dispatch (best allowed ISA path first, SHERRY_MAX_ISA caps it, the reference
// last) and the same JIT:
//  * I2_S-style 2-bit layers run jit/i2s_kernel.h's generated kernels;
//  * TL2-style 1.67-bit layers run the Sherry LUT kernels with TL2 tables (jit/tl2_tables.h).
#pragma once

#include <cstdint>
#include <memory>

#include "core/error.h"
#include "core/i2s_format.h"
#include "core/tl2_format.h"
#include "ir/kernel_key.h"
#include "jit/linear.h"

namespace sherry::jit {

class BaselineLinear : public Linear {
 public:
  // acc (n × rows) = the exact int32 Σ_k t·q of each token and row: the testing entry, compared
  // bit-exactly with core/ternary_reference.h (builds accumulator-output kernels on first use).
  virtual void forward_accumulators(const QuantizedActivations& x, int32_t* acc) = 0;
  // Bits per weight of the stream the kernel reads (layout padding included, α excluded).
  virtual double stream_bits_per_weight() const = 0;
  // The ISA path serving the layer (kScalar: the reference).
  virtual ir::Isa isa() const = 0;

 protected:
  using Linear::Linear;
};

// tuning: row tile and prefetch distance (0: the path's defaults).
Result<std::unique_ptr<BaselineLinear>> make_i2s_linear(const I2sTensor& w,
                                                        const LinearOptions& options,
                                                        const ir::Tuning& tuning = {});
Result<std::unique_ptr<BaselineLinear>> make_tl2_linear(const Tl2Tensor& w,
                                                        const LinearOptions& options,
                                                        const ir::Tuning& tuning = {});

}  // namespace sherry::jit
