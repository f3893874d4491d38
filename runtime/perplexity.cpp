#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sherry::runtime {

Result<PerplexityResult> perplexity(LlamaModel& model, std::span<const int32_t> tokens,
                                    int64_t window,
                                    const std::function<void(int64_t, double)>& progress) {
  if (window < 4 || window > model.context()) {
    return make_error("perplexity: window of {} tokens: expected 4 to the context size {}", window,
                      model.context());
  }
  const auto total = static_cast<int64_t>(tokens.size());
  if (total < window) {
    return make_error(
        "perplexity: expected at least one window of {} tokens, found {} tokens "
        "(lower -c or give a longer text)",
        window, total);
  }
  const int32_t bos = model.tokenizer() != nullptr && model.tokenizer()->vocab().add_bos
                          ? model.tokenizer()->bos()
                          : -1;
  const int64_t vocab = model.config().vocab;
  const int64_t first_scored = window / 2;
  PerplexityResult result;
  double nll = 0;
  std::vector<int32_t> chunk(window);
  for (int64_t start = 0; start + window <= total; start += window) {
    std::copy(tokens.begin() + start, tokens.begin() + start + window, chunk.begin());
    if (bos >= 0) chunk[0] = bos;
    for (int64_t done = 0; done < window; done += model.batch()) {
      const int64_t count = std::min(model.batch(), window - done);
      auto logits = model.forward(std::span<const int32_t>(chunk.data() + done, count), done, true);
      if (!logits) return logits.error();
      for (int64_t t = 0; t < count; ++t) {
        const int64_t pos = done + t;  // logits at pos predict token pos + 1
        if (pos < first_scored - 1 || pos + 1 >= window) continue;
        const float* row = logits->data() + t * vocab;
        const float max = *std::max_element(row, row + vocab);
        double sum = 0;
        for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i] - max));
        const int32_t next = tokens[start + pos + 1];
        nll += std::log(sum) - static_cast<double>(row[next] - max);
        ++result.scored;
      }
    }
    ++result.windows;
    if (progress) progress(result.windows, std::exp(nll / static_cast<double>(result.scored)));
  }
  result.mean_nll = nll / static_cast<double>(result.scored);
  result.perplexity = std::exp(result.mean_nll);
  return result;
}

}  // namespace sherry::runtime
