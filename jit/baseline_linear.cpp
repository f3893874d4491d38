#include "jit/baseline_linear.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/ternary_reference.h"
#include "jit/aligned_buffer.h"
#include "jit/cpu_detect.h"
#include "jit/i2s_kernel.h"
#include "jit/kernel_build.h"
#include "jit/kernel_cache.h"
#include "jit/tl2_tables.h"
#include "jit/weight_repack.h"

namespace sherry::jit {
namespace {

constexpr int64_t kMaxI2sTokensPerCall = 8;

// Runs body over [0, tiles) on the pool, or inline.
void for_tiles(ThreadPool* pool, int64_t tiles, ThreadPool::RangeFn body) {
  if (pool == nullptr || pool->size() == 1 || tiles == 1) {
    body(0, tiles, 0);
  } else {
    pool->parallel_for(tiles, 1, body);
  }
}

// The reference backend of both formats: core/ternary_reference.h on the unpacked values.
class TernaryReferenceLinear final : public BaselineLinear {
 public:
  TernaryReferenceLinear(TernaryMatrix w, std::string name, double bits)
      : BaselineLinear(w.rows, w.cols), w_(std::move(w)), name_(std::move(name)), bits_(bits) {}

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }
  void forward_quantized(const QuantizedActivations& x, float* y) override {
    std::vector<int32_t> acc(static_cast<size_t>(x.tokens * rows_));
    ternary_accumulate_i32(w_, x, acc.data());
    ternary_scale_accumulators(w_, x, acc.data(), y);
  }
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override {
    ternary_accumulate_i32(w_, x, acc);
  }
  std::string kernel_name() const override { return name_; }
  double stream_bits_per_weight() const override { return bits_; }
  ir::Isa isa() const override { return ir::Isa::kScalar; }

 private:
  TernaryMatrix w_;
  std::string name_;
  double bits_;
};

// ---- I2_S-style ----

using I2sKernels = std::vector<std::unique_ptr<I2sKernel>>;

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

class I2sLinear final : public BaselineLinear {
 public:
  I2sLinear(const I2sTensor& w, I2sKernels kernels, ThreadPool* pool)
      : BaselineLinear(w.rows, w.cols),
        kernels_(std::move(kernels)),
        layout_(kernels_.front()->layout),
        weights_(repack_i2s(w, layout_, kernels_.front()->key.prefetch)),
        alpha_(w.alpha),
        pool_(pool) {
    const size_t n_tile = kernels_.size();
    x_.resize(n_tile * static_cast<size_t>(layout_.k_pad));
    xsum_.resize(n_tile);
    out_.resize(n_tile * static_cast<size_t>(layout_.m_pad));
  }

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }
  void forward_quantized(const QuantizedActivations& x, float* y) override {
    run(kernels_, x, [&](int64_t t, const float* out) {
      std::memcpy(y + t * rows_, out, static_cast<size_t>(rows_) * sizeof(float));
    });
  }
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override {
    if (acc_kernels_.empty()) {
      acc_kernels_ = i2s_kernels(kernels_.front()->key, static_cast<int64_t>(kernels_.size()),
                                 ir::OutputMode::kAccumulators)
                         .value();  // the float kernels of the same key built: an internal error
    }
    run(acc_kernels_, x, [&](int64_t t, const float* out) {
      std::memcpy(acc + t * rows_, out, static_cast<size_t>(rows_) * sizeof(int32_t));
    });
  }
  std::string kernel_name() const override {
    std::string name = kernels_.front()->name;
    if (kernels_.size() > 1) name += " " + kernels_.back()->name;
    return name;
  }
  double stream_bits_per_weight() const override {
    return 8.0 * static_cast<double>(layout_.tiles * layout_.tile_weight_bytes) /
           static_cast<double>(rows_ * cols_);
  }
  ir::Isa isa() const override { return kernels_.front()->key.isa; }

 private:
  // Calls emit(token, row array) per token; the row array is float or int32 bits.
  template <class Emit>
  void run(const I2sKernels& kernels, const QuantizedActivations& x, Emit emit) {
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
          weights_.data(), x_.data(), xsum_.data(), x.scales.data() + t0, &alpha_,
          out_.data(),     0,         layout_.tiles};
      for_tiles(pool_, layout_.tiles, [&](int64_t begin, int64_t end, int) {
        I2sKernelArgs part = args;
        part.tile_begin = begin;
        part.tile_end = end;
        kernel.run(part);
      });
      for (int64_t t = 0; t < tokens; ++t) emit(t0 + t, out_.data() + t * layout_.m_pad);
    }
  }

  I2sKernels kernels_;
  I2sKernels acc_kernels_;
  I2sLayout layout_;
  AlignedBuffer<uint8_t> weights_;
  float alpha_;
  ThreadPool* pool_;
  AlignedBuffer<int8_t> x_;
  AlignedBuffer<int32_t> xsum_;
  AlignedBuffer<float> out_;
};

// ---- TL2-style ----

using LutKernels = std::vector<std::shared_ptr<const Kernel>>;

Result<LutKernels> lut_kernels(const ir::KernelKey& resolved, int64_t n_tile) {
  LutKernels kernels;
  for (int64_t n = 1; n <= n_tile; ++n) {
    ir::KernelKey key = resolved;
    key.op = n == 1 ? ir::KernelOp::kGemv : ir::KernelOp::kGemm;
    key.n_tile = n;
    Result<std::shared_ptr<const Kernel>> kernel = KernelCache::global().get(key);
    if (!kernel.ok()) return kernel.error();
    kernels.push_back(*kernel);
  }
  return kernels;
}

class Tl2Linear final : public BaselineLinear {
 public:
  Tl2Linear(const Tl2Tensor& w, const PackedTensor& blocks, LutKernels kernels, ThreadPool* pool)
      : BaselineLinear(w.rows, w.cols),
        kernels_(std::move(kernels)),
        layout_(kernels_.front()->layout),
        weights_(repack_weights(blocks.view(), layout_)),
        alpha_(w.alpha),
        pool_(pool) {
    out_.resize(kernels_.size() * static_cast<size_t>(layout_.m_pad));
    entries_.resize(static_cast<size_t>(layout_.k_pad / kWeightsPerBlock * kSlotCount));
  }

  void forward(const float* x, int64_t n, float* y) override {
    forward_quantized(quantize_activations_i8(x, n, cols_), y);
  }
  void forward_quantized(const QuantizedActivations& x, float* y) override {
    run(kernels_, x, [&](int64_t t, const float* out) {
      // The kernels scale by α = 1; the tensor's α comes last, as in ternary_reference.h.
      for (int64_t m = 0; m < rows_; ++m) y[t * rows_ + m] = out[m] * alpha_;
    });
  }
  void forward_accumulators(const QuantizedActivations& x, int32_t* acc) override {
    if (acc_kernels_.empty()) {
      ir::KernelKey key = kernels_.front()->key;
      key.output = ir::OutputMode::kAccumulators;
      acc_kernels_ = lut_kernels(key, static_cast<int64_t>(kernels_.size())).value();
    }
    run(acc_kernels_, x, [&](int64_t t, const float* out) {
      std::memcpy(acc + t * rows_, out, static_cast<size_t>(rows_) * sizeof(int32_t));
    });
  }
  std::string kernel_name() const override {
    // The LUT kernel's name with the format in front: tl2_ on a lutgemv_... name.
    std::string name = "tl2_" + kernels_.front()->name;
    if (kernels_.size() > 1) name += " tl2_" + kernels_.back()->name;
    return name;
  }
  double stream_bits_per_weight() const override {
    return 8.0 * static_cast<double>(layout_.tiles * layout_.tile_weight_bytes) /
           static_cast<double>(rows_ * cols_);
  }
  ir::Isa isa() const override { return kernels_.front()->key.isa; }

 private:
  template <class Emit>
  void run(const LutKernels& kernels, const QuantizedActivations& x, Emit emit) {
    SHERRY_CHECK(x.cols == cols_, "activations have {} columns, the layer {}", x.cols, cols_);
    const int64_t n_tile = static_cast<int64_t>(kernels.size());
    const size_t table_bytes =
        static_cast<size_t>(std::min(n_tile, x.tokens) * layout_.table_bytes);
    if (tables_.size() < table_bytes) tables_.resize(table_bytes);
    for (int64_t t0 = 0; t0 < x.tokens; t0 += n_tile) {
      const int64_t tokens = std::min(n_tile, x.tokens - t0);
      for (int64_t t = 0; t < tokens; ++t) {
        build_tl2_tables(layout_, x.token(t0 + t), cols_, entries_.data(),
                         tables_.data() + t * layout_.table_bytes);
      }
      const Kernel& kernel = *kernels[tokens - 1];
      const KernelArgs args{weights_.weights.data(),
                            weights_.alpha.data(),
                            weights_.nneg.data(),
                            tables_.data(),
                            x.scales.data() + t0,
                            out_.data(),
                            0,
                            layout_.tiles};
      for_tiles(pool_, layout_.tiles, [&](int64_t begin, int64_t end, int) {
        KernelArgs part = args;
        part.tile_begin = begin;
        part.tile_end = end;
        kernel.run(part);
      });
      for (int64_t t = 0; t < tokens; ++t) {
        emit(t0 + t, out_.data() + t * layout_.out_token_bytes / 4);
      }
    }
  }

  LutKernels kernels_;
  LutKernels acc_kernels_;
  KernelLayout layout_;
  RepackedWeights weights_;
  float alpha_;
  ThreadPool* pool_;
  AlignedBuffer<int16_t> entries_;  // TL2 entries of one token
  AlignedBuffer<uint8_t> tables_;
  AlignedBuffer<float> out_;
};

void report_dispatch(const LinearOptions& options, const BaselineLinear& linear,
                     const std::vector<std::string>& rejected) {
  if (!verbose_dispatch()) return;
  const std::string what = options.name.empty() ? "matrix" : options.name;
  std::fprintf(stderr, "sherry dispatch: %s (%lld x %lld): %s%s%s\n", what.c_str(),
               static_cast<long long>(linear.rows()), static_cast<long long>(linear.cols()),
               linear.kernel_name().c_str(), rejected.empty() ? "" : "; rejected ",
               fmt::format("{}", fmt::join(rejected, "; ")).c_str());
}

}  // namespace

Result<std::unique_ptr<BaselineLinear>> make_i2s_linear(const I2sTensor& w,
                                                        const LinearOptions& options,
                                                        const ir::Tuning& tuning) {
  std::unique_ptr<BaselineLinear> linear;
  std::vector<std::string> rejected;
  if (options.backend == KernelBackend::kJit) {
    for (const ir::Isa isa : isa_preference()) {
      std::string why;
      if (isa == ir::Isa::kScalar) break;
      if (!isa_allowed(isa, host_cpu(), &why)) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), why));
        continue;
      }
      I2sKernelKey key{isa, w.rows, w.cols, 1, tuning.row_tile, tuning.prefetch};
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
    linear.reset(new TernaryReferenceLinear(
        unpack_i2s(w), "reference_i2s",
        8.0 * static_cast<double>(w.data.size()) / static_cast<double>(w.rows * w.cols)));
  }
  report_dispatch(options, *linear, rejected);
  return linear;
}

Result<std::unique_ptr<BaselineLinear>> make_tl2_linear(const Tl2Tensor& w,
                                                        const LinearOptions& options,
                                                        const ir::Tuning& tuning) {
  std::unique_ptr<BaselineLinear> linear;
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
      if (!has_generated_kernels(isa)) {
        rejected.push_back(
            fmt::format("{}: no generated kernels in this build", ir::to_string(isa)));
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
      const int64_t n_tile = std::max<int64_t>(
          1, std::min(options.max_tokens, max_n_tile(isa, resolved->tuning.row_tile)));
      Result<LutKernels> kernels = lut_kernels(*resolved, n_tile);
      if (!kernels.ok()) {
        rejected.push_back(fmt::format("{}: {}", ir::to_string(isa), kernels.error().message()));
        continue;
      }
      linear.reset(new Tl2Linear(w, blocks, std::move(*kernels), options.pool));
      break;
    }
  }
  if (!linear) {
    linear.reset(new TernaryReferenceLinear(
        unpack_tl2(w), "reference_tl2",
        8.0 * static_cast<double>(w.data.size()) / static_cast<double>(w.rows * w.cols)));
  }
  report_dispatch(options, *linear, rejected);
  return linear;
}

}  // namespace sherry::jit
