#include "baselines/baseline_linear.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "baselines/i2s_kernel.h"
#include "baselines/ternary_reference.h"
#include "baselines/tl2_tables.h"
#include "jit/aligned_buffer.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "jit/kernel_linear.h"
#include "jit/x64/x64_kernel.h"

namespace sherry::jit {
namespace {

constexpr int64_t kMaxI2sTokensPerCall = 8;

// The reference backend of both formats: baselines/ternary_reference.h on the unpacked values.
class TernaryReferenceLinear final : public Linear {
 public:
  TernaryReferenceLinear(TernaryMatrix w, std::string name, int64_t code_bytes)
      : Linear(w.rows, w.cols),
        weights_(std::move(w), code_bytes, code_bytes),
        name_(std::move(name)) {}

  void run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) override {
    const TernaryMatrix& m = static_cast<const OwnedWeights<TernaryMatrix>&>(w).value;
    std::vector<int32_t> acc(static_cast<size_t>(x.tokens * rows_));
    ternary_accumulate_i32(m, x, acc.data());
    ternary_scale_accumulators(m, x, acc.data(), y);
  }
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override {
    ternary_accumulate_i32(weights_.value, x, acc);
  }
  const LayerWeights& weights() const override { return weights_; }
  std::string kernel_name() const override { return name_; }
  ir::Isa isa() const override { return ir::Isa::kScalar; }

 private:
  OwnedWeights<TernaryMatrix> weights_;
  std::string name_;
};

// ---- I2_S-style ----

using I2sKernels = std::vector<std::unique_ptr<I2sKernel>>;
using I2sWeights = OwnedWeights<AlignedBuffer<uint8_t>>;

// Kernels for 1 .. n_tile tokens per call with one shared layout.
Result<I2sKernels> i2s_kernels(const I2sKernelKey& base, int64_t n_tile, ir::OutputMode output) {
  I2sKernels kernels;
  for (int64_t n = 1; n <= n_tile; ++n) {
    I2sKernelKey key = base;
    key.n_tile = n;
    key.output = output;
    Result<std::unique_ptr<I2sKernel>> kernel = build_i2s_kernel(key);
    if (!kernel.ok()) return kernel.error();
    kernels.push_back(std::move(*kernel));
  }
  return kernels;
}

class I2sLinear final : public Linear {
 public:
  I2sLinear(const I2sTensor& w, I2sKernels kernels, ThreadPool* pool)
      : Linear(w.rows, w.cols),
        kernels_(std::move(kernels)),
        layout_(kernels_.front()->layout),
        weights_(repack_i2s(w, layout_, kernels_.front()->key.prefetch),
                 layout_.tiles * layout_.tile_weight_bytes,
                 layout_.tiles * layout_.tile_weight_bytes),
        alpha_(w.alpha),
        pool_(pool) {
    const size_t n_tile = kernels_.size();
    x_.resize(n_tile * static_cast<size_t>(layout_.k_pad));
    xsum_.resize(n_tile);
    out_.resize(n_tile * static_cast<size_t>(layout_.m_pad));
  }

  void run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) override {
    run(kernels_, static_cast<const I2sWeights&>(w), x, [&](int64_t t, const float* out) {
      std::memcpy(y + t * rows_, out, static_cast<size_t>(rows_) * sizeof(float));
    });
  }
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override {
    if (acc_kernels_.empty()) {
      acc_kernels_ = i2s_kernels(kernels_.front()->key, static_cast<int64_t>(kernels_.size()),
                                 ir::OutputMode::kAccumulators)
                         .value();  // the float kernels of the same key built: an internal error
    }
    run(acc_kernels_, weights_, x, [&](int64_t t, const float* out) {
      std::memcpy(acc + t * rows_, out, static_cast<size_t>(rows_) * sizeof(int32_t));
    });
  }
  const LayerWeights& weights() const override { return weights_; }
  std::string kernel_name() const override {
    std::string name = kernels_.front()->name;
    if (kernels_.size() > 1) name += " " + kernels_.back()->name;
    return name;
  }
  ir::Isa isa() const override { return kernels_.front()->key.isa; }

 private:
  // Calls emit(token, row array) per token; the row array is float or int32 bits.
  template <class Emit>
  void run(const I2sKernels& kernels, const I2sWeights& w, const QuantizedActivations& x,
           Emit emit) {
    SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
    const int64_t n_tile = static_cast<int64_t>(kernels.size());
    for (int64_t t0 = 0; t0 < x.tokens; t0 += n_tile) {
      const int64_t tokens = std::min(n_tile, x.tokens - t0);
      for (int64_t t = 0; t < tokens; ++t) {
        const int8_t* q = x.token(t0 + t);
        // Columns past cols stay zero from the allocation.
        std::memcpy(x_.data() + t * layout_.k_pad, q, static_cast<size_t>(cols_));
        int32_t sum = 0;
        for (int64_t k = 0; k < cols_; ++k) sum += q[k];
        xsum_[t] = sum;
      }
      const I2sKernel& kernel = *kernels[tokens - 1];
      const I2sKernelArgs args{
          w.value.data(), x_.data(), xsum_.data(), x.scales.data() + t0, &alpha_,
          out_.data(),    0,         layout_.tiles};
      auto body = [&](int64_t begin, int64_t end, int) {
        I2sKernelArgs part = args;
        part.tile_begin = begin;
        part.tile_end = end;
        kernel.run(part);
      };
      if (pool_ == nullptr || pool_->size() == 1 || layout_.tiles == 1) {
        body(0, layout_.tiles, 0);
      } else {
        pool_->parallel_for(layout_.tiles, 1, body);
      }
      for (int64_t t = 0; t < tokens; ++t) emit(t0 + t, out_.data() + t * layout_.m_pad);
    }
  }

  I2sKernels kernels_;
  I2sKernels acc_kernels_;
  I2sLayout layout_;
  I2sWeights weights_;
  float alpha_;
  ThreadPool* pool_;
  AlignedBuffer<int8_t> x_;
  AlignedBuffer<int32_t> xsum_;
  AlignedBuffer<float> out_;
};

// ---- TL2-style: the Sherry LUT kernels, TL2 tables ----

class Tl2Linear final : public KernelLinear {
 public:
  Tl2Linear(const Tl2Tensor& w, const PackedTensor& blocks, LayerKernels kernels, ThreadPool* pool)
      : KernelLinear(blocks.view(), std::move(kernels), pool,
                     // TL2 entries of one token, int16
                     blocks.cols / kWeightsPerBlock * kSlotCount * 2 + 64 * kSlotCount * 2),
        alpha_(w.alpha) {
    cols_ = w.cols;
  }

  // The kernels read the block tensor's columns, prepare_token the activations' TL2 columns.
  void run_with(const LayerWeights& w, const QuantizedActivations& x, float* y) override {
    KernelLinear::run_with(w, x, y);
    // The kernels scale by α = 1; the tensor's α comes last, as in ternary_reference.h.
    for (int64_t i = 0; i < x.tokens * rows_; ++i) y[i] *= alpha_;
  }
  std::string kernel_name() const override {
    // The LUT kernel's name with the format in front: tl2_ on a lutgemv_... name.
    std::string name = KernelLinear::kernel_name();
    const size_t space = name.find(' ');
    if (space != std::string::npos) name.insert(space + 1, "tl2_");
    return "tl2_" + name;
  }

 protected:
  void prepare_token(const Kernel& kernel, const int8_t* q, int64_t index,
                     uint8_t* call_activations, int8_t* scratch) const override {
    const x64::KernelLayout& l = x64::as_x64(kernel).layout;
    build_tl2_tables(l, q, cols_, reinterpret_cast<uint8_t*>(scratch),
                     call_activations + index * l.table_bytes);
  }

 private:
  float alpha_;
};

}  // namespace

Result<std::unique_ptr<Linear>> make_i2s_linear(const I2sTensor& w, const LinearOptions& options,
                                                const ir::Tuning& tuning) {
  std::unique_ptr<Linear> linear;
  std::vector<std::string> rejected;
  if (options.backend == KernelBackend::kJit) {
    for (const ir::Isa isa : isa_preference()) {
      std::string why;
      if (isa == ir::Isa::kScalar) break;
      if (!isa_allowed(isa, host_cpu(), &why)) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), why));
        continue;
      }
      // The path's measured prefetch default serves the I2_S stream too (docs/jit.md).
      const int64_t prefetch = tuning.prefetch == ir::kPathDefaultPrefetch
                                   ? isa_path(isa).default_prefetch
                                   : tuning.prefetch;
      I2sKernelKey key{isa, w.rows, w.cols, 1, tuning.row_tile, prefetch};
      Result<I2sKernelKey> resolved = resolve_i2s_key(key);
      if (!resolved.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), resolved.error().message()));
        continue;
      }
      const int64_t n_tile = std::clamp<int64_t>(std::min(options.max_tokens, kMaxI2sTokensPerCall),
                                                 1, i2s_max_n_tile(isa, resolved->row_tile));
      Result<I2sKernels> kernels = i2s_kernels(*resolved, n_tile, ir::OutputMode::kFloat);
      if (!kernels.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), kernels.error().message()));
        continue;
      }
      linear.reset(new I2sLinear(w, std::move(*kernels), options.pool));
      break;
    }
  }
  if (!linear) {
    linear.reset(new TernaryReferenceLinear(unpack_i2s(w), "reference_i2s",
                                            static_cast<int64_t>(w.data.size())));
  }
  report_dispatch(options, *linear, rejected);
  return linear;
}

Result<std::unique_ptr<Linear>> make_tl2_linear(const Tl2Tensor& w, const LinearOptions& options,
                                                const ir::Tuning& tuning) {
  std::unique_ptr<Linear> linear;
  std::vector<std::string> rejected;
  if (options.backend == KernelBackend::kJit) {
    const PackedTensor blocks = tl2_as_blocks(w);
    for (const ir::Isa isa : isa_preference()) {
      std::string why;
      if (isa == ir::Isa::kScalar) break;
      if (!isa_allowed(isa, host_cpu(), &why)) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), why));
        continue;
      }
      if (isa_path(isa).backend != BackendKind::kX64) {
        rejected.push_back(
            fmt::format("{}: TL2 tables exist for the x86-64 kernels only", ir::to_string(isa)));
        continue;
      }
      ir::KernelKey key;
      key.isa = isa;
      key.m = blocks.rows;
      key.k = blocks.cols;
      key.layout = blocks.layout;
      key.tuning = tuning;
      Result<ir::KernelKey> resolved = resolve_kernel_key(key);
      if (!resolved.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), resolved.error().message()));
        continue;
      }
      Result<LayerKernels> kernels = layer_kernels(*resolved, options.max_tokens);
      if (!kernels.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), kernels.error().message()));
        continue;
      }
      linear.reset(new Tl2Linear(w, blocks, std::move(*kernels), options.pool));
      break;
    }
  }
  if (!linear) {
    linear.reset(new TernaryReferenceLinear(unpack_tl2(w), "reference_tl2",
                                            static_cast<int64_t>(w.data.size())));
  }
  report_dispatch(options, *linear, rejected);
  return linear;
}

}  // namespace sherry::jit
