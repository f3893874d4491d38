// AdamW with decoupled weight decay on selected parameters, bias-corrected moments in float.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace sherry::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;            // parameters of class kDecay
  double quantized_weight_decay = 0.0;  // parameters of class kQuantizedDecay
};

// Which weight decay a parameter gets (one byte per parameter).
enum class DecayClass : uint8_t {
  kNone = 0,            // norms
  kDecay = 1,           // embedding, head, linears of fp runs: weight_decay
  kQuantizedDecay = 2,  // latent weights of quantized linears: quantized_weight_decay
};

class AdamW {
 public:
  AdamW(int64_t parameter_count, AdamWOptions options)
      : options_(options), m_(parameter_count, 0.0f), v_(parameter_count, 0.0f) {}

  // One update: p −= lr · (m̂ / (√v̂ + eps) + wd(class) · p), step is 0-based (the bias
  // correction uses step + 1). decay_classes has one DecayClass per parameter.
  void update(float* params, const float* grads, const std::vector<DecayClass>& decay_classes,
              double lr, int64_t step, ThreadPool* pool);

  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }

 private:
  AdamWOptions options_;
  std::vector<float> m_;
  std::vector<float> v_;
};

}  // namespace sherry::train
