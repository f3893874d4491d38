#include "trainer/qat/adamw.h"

#include <cmath>

#include "trainer/qat/layers.h"

namespace sherry::train {

void AdamW::update(float* params, const float* grads, const std::vector<DecayClass>& decay_classes,
                   double lr, int64_t step, ThreadPool* pool) {
  const float b1 = static_cast<float>(options_.beta1), b2 = static_cast<float>(options_.beta2);
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta1, step + 1)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta2, step + 1)));
  const float eps = static_cast<float>(options_.eps);
  const float lr_f = static_cast<float>(lr);
  const float decay[3] = {0.0f, static_cast<float>(lr * options_.weight_decay),
                          static_cast<float>(lr * options_.quantized_weight_decay)};
  parallel_ranges(pool, static_cast<int64_t>(m_.size()), 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = grads[i];
      m_[i] = b1 * m_[i] + (1.0f - b1) * g;
      v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
      const float update = (m_[i] * c1) / (std::sqrt(v_[i] * c2) + eps);
      params[i] -= lr_f * update + decay[static_cast<int>(decay_classes[i])] * params[i];
    }
  });
}

}  // namespace sherry::train
