// Wall time per phase of a training step, for the progress line's JSON and `sherry-train bench`.
// A PhaseTimer adds the time from its construction to its destruction to one phase of a
// PhaseTimes; with a null PhaseTimes it does nothing.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace sherry::train {

enum class Phase : uint8_t {
  kData,       // drawing and copying the windows
  kQuantize,   // the forward weights of the quantized linears (set_quantization)
  kGemm,       // every matrix product (linears, head)
  kAttention,  // attention forward and backward
  kLoss,       // cross entropy forward and backward
  kOther,      // norms, RoPE, SwiGLU, residuals, embedding
  kReduce,     // gradient all-reduce, norm and clipping
  kOptimizer,  // AdamW
  kCount,
};

std::string_view to_string(Phase phase);  // "data", "quantize", "gemm", ...

struct PhaseTimes {
  std::array<double, static_cast<size_t>(Phase::kCount)> seconds{};
  double& operator[](Phase phase) { return seconds[static_cast<size_t>(phase)]; }
  double operator[](Phase phase) const { return seconds[static_cast<size_t>(phase)]; }
  double total() const {
    double sum = 0;
    for (double s : seconds) sum += s;
    return sum;
  }
  void clear() { seconds.fill(0.0); }
  PhaseTimes& operator+=(const PhaseTimes& other) {
    for (size_t i = 0; i < seconds.size(); ++i) seconds[i] += other.seconds[i];
    return *this;
  }
};

class PhaseTimer {
 public:
  PhaseTimer(PhaseTimes* times, Phase phase)
      : times_(times), phase_(phase), start_(times ? std::chrono::steady_clock::now() : Clock()) {}
  ~PhaseTimer() {
    if (times_ != nullptr)
      (*times_)[phase_] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  using Clock = std::chrono::steady_clock::time_point;
  PhaseTimes* times_;
  Phase phase_;
  Clock start_;
};

inline std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::kData:
      return "data";
    case Phase::kQuantize:
      return "quantize";
    case Phase::kGemm:
      return "gemm";
    case Phase::kAttention:
      return "attention";
    case Phase::kLoss:
      return "loss";
    case Phase::kOther:
      return "other";
    case Phase::kReduce:
      return "reduce";
    case Phase::kOptimizer:
      return "optimizer";
    case Phase::kCount:
      break;
  }
  return "?";
}

}  // namespace sherry::train
