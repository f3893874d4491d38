// The whole model's backward pass against finite differences (double precision, tiny config),
// and the STE + Arenas rule for the quantized methods.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/trainer/gradient_check.h"
#include "trainer/qat/llama_model.h"

namespace sherry::train {
namespace {

ModelConfig tiny_config(bool tied) {
  ModelConfig c;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.hidden_dim = 32;
  c.vocab_size = 11;
  c.seq_len = 5;
  c.tied_embeddings = tied;
  return c;
}

void check_model(bool tied) {
  const ModelConfig c = tiny_config(tied);
  ThreadPool pool(2);
  LlamaModel<double> model(c, 2, &pool);
  model.init_random(42);
  // Larger weights than the default init so every path carries signal.
  for (double& p : model.params()) p *= 10.0;
  const std::vector<int32_t> tokens = {1, 5, 2, 9, 3, 0, 10, 4, 4, 7};
  const std::vector<int32_t> targets = {5, 2, 9, 3, 6, 10, 4, 4, 7, 1};
  auto loss = [&] { return model.forward(tokens.data(), targets.data(), 2, 5) / 10.0; };
  loss();
  model.zero_grads();
  model.backward(1.0 / 10.0);
  const std::vector<double> analytic = model.grads();
  for (size_t k = 0; k < model.slots().size(); ++k) {
    const TensorSlot& s = model.slots()[k];
    std::vector<double> values(model.params().begin() + s.offset,
                               model.params().begin() + s.offset + s.size());
    std::vector<double> grads(analytic.begin() + s.offset, analytic.begin() + s.offset + s.size());
    // check_gradient perturbs `values`; mirror them into the model around each loss evaluation.
    auto slot_loss = [&] {
      std::copy(values.begin(), values.end(), model.params().begin() + s.offset);
      return loss();
    };
    testing::check_gradient(s.name, values, grads, slot_loss, 40, 100 + k, 1e-6, 1e-6);
    std::copy(values.begin(), values.end(), model.params().begin() + s.offset);
  }
}

TEST_CASE("model backward matches finite differences with tied embeddings") {
  check_model(true);
}

TEST_CASE("model backward matches finite differences with an untied head") {
  check_model(false);
}

// The latent-weight gradient factor of each method as docs/training.md ("Methods") states it, at
// λ_t = 0.3: (1 + λ_t) for sherry, 1 for the others (sherry-noarenas has λ ≡ 0, absmean and fp no
// Arenas path). Literals, not method_lambda(), which is the code under test.
struct MethodCase {
  QuantMethod method;
  double latent_factor;
};
constexpr double kLambda = 0.3;
constexpr MethodCase kMethods[] = {
    {QuantMethod::kFp, 1.0},
    {QuantMethod::kSherry, 1.3},
    {QuantMethod::kSherryNoArenas, 1.0},
    {QuantMethod::kAbsmean, 1.0},
};

TEST_CASE(
    "quantized methods give the latent weight the documented multiple of the forward "
    "weight gradient") {
  const ModelConfig c = tiny_config(true);
  WeightLayout layout;
  layout.group_size = 16;
  const std::vector<int32_t> tokens = {1, 5, 2, 9, 3};
  const std::vector<int32_t> targets = {5, 2, 9, 3, 6};
  for (const MethodCase& m : kMethods) {
    INFO("method " << to_string(m.method));
    LlamaModel<double> quantized(c, 1, nullptr);
    quantized.init_random(7);
    quantized.set_quantization(m.method, layout, kLambda);
    // The FP model whose weights are the quantized model's forward weights.
    LlamaModel<double> fp(c, 1, nullptr);
    fp.params() = quantized.params();
    for (const TensorSlot& s : quantized.slots()) {
      const double* w = quantized.forward_weight(s);
      std::copy(w, w + s.size(), fp.params().begin() + s.offset);
    }
    const double lq = quantized.forward(tokens.data(), targets.data(), 1, 5);
    const double lf = fp.forward(tokens.data(), targets.data(), 1, 5);
    CHECK(lq == doctest::Approx(lf).epsilon(1e-12));
    quantized.zero_grads();
    fp.zero_grads();
    quantized.backward(1.0);
    fp.backward(1.0);
    for (const TensorSlot& s : quantized.slots()) {
      const double f = s.role == TensorRole::kLinear ? m.latent_factor : 1.0;
      INFO("tensor " << s.name);
      for (int64_t i = 0; i < s.size(); ++i)
        REQUIRE(quantized.grads()[s.offset + i] ==
                doctest::Approx(f * fp.grads()[s.offset + i]).epsilon(1e-9));
    }
  }
}

// The forward weight of one linear, computed here from the documented rules (docs/training.md
// "Methods", docs/format.md §5) with contiguous blocks of 4 and nothing from the trainer.
struct ExpectedQuantization {
  std::vector<float> weight;  // the forward weight
  std::vector<int8_t> ternary;
  std::vector<float> alpha;
};

ExpectedQuantization expected_quantization(QuantMethod method, const float* w, int64_t rows,
                                           int64_t cols, const WeightLayout& layout,
                                           double lambda) {
  const int64_t count = rows * cols;
  ExpectedQuantization q{std::vector<float>(w, w + count), std::vector<int8_t>(count, 0), {}};
  if (method == QuantMethod::kFp) return q;
  const int64_t group = layout.granularity == ScaleGranularity::kGroup     ? layout.group_size
                        : layout.granularity == ScaleGranularity::kChannel ? cols
                                                                           : count;
  if (method == QuantMethod::kAbsmean) {
    // Per scale group (the reference code's per_group): α = mean |W| over the group; t = sign(W)
    // where |W| ≥ α/2, else 0.
    for (int64_t g = 0; g < count; g += group) {
      double sum = 0;
      for (int64_t i = g; i < g + group; ++i) sum += std::fabs(w[i]);
      const float alpha = static_cast<float>(sum / group);
      q.alpha.push_back(alpha);
      for (int64_t i = g; i < g + group; ++i) {
        q.ternary[i] =
            static_cast<int8_t>(std::fabs(w[i]) >= 0.5f * alpha ? (w[i] < 0 ? -1 : 1) : 0);
        q.weight[i] = alpha * q.ternary[i];
      }
    }
    return q;
  }
  // Sparse-AbsMean 3:4: the smallest |w| of each block of 4 (lowest lane on ties) is 0, the others
  // sign(w) with sign(±0) = +1; α = mean |w| over the kept weights of each group, in double.
  for (int64_t i = 0; i < count; i += 4) {
    int zero = 0;
    for (int p = 1; p < 4; ++p)
      if (std::fabs(w[i + p]) < std::fabs(w[i + zero])) zero = p;
    for (int p = 0; p < 4; ++p) q.ternary[i + p] = p == zero ? 0 : (w[i + p] < 0 ? -1 : 1);
  }
  for (int64_t g = 0; g < count; g += group) {
    double sum = 0;
    int64_t kept = 0;
    for (int64_t i = g; i < g + group; ++i)
      if (q.ternary[i] != 0) {
        sum += std::fabs(w[i]);
        ++kept;
      }
    q.alpha.push_back(static_cast<float>(sum / kept));
  }
  const float l = method == QuantMethod::kSherry ? static_cast<float>(lambda) : 0.0f;
  for (int64_t i = 0; i < count; ++i) q.weight[i] = q.alpha[i / group] * q.ternary[i] + l * w[i];
  return q;
}

TEST_CASE("every method's forward weights follow its documented rule") {
  const ModelConfig c = tiny_config(true);
  const WeightLayout layouts[] = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 16},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 128},
  };
  for (const MethodCase& m : kMethods)
    for (const WeightLayout& layout : layouts) {
      INFO("method " << to_string(m.method) << " granularity " << to_string(layout.granularity));
      LlamaModel<float> model(c, 1, nullptr);
      model.init_random(3);
      model.set_quantization(m.method, layout, 0.25);
      int64_t linears = 0, zeros = 0, weights = 0;
      for (const TensorSlot& s : model.slots()) {
        INFO("tensor " << s.name);
        const float* w = model.params().data() + s.offset;
        const float* eff = model.forward_weight(s);
        if (s.role != TensorRole::kLinear) {
          for (int64_t i = 0; i < s.size(); ++i) REQUIRE(eff[i] == w[i]);
          continue;
        }
        ++linears;
        const ExpectedQuantization q =
            expected_quantization(m.method, w, s.rows, s.cols, layout, 0.25);
        if (m.method != QuantMethod::kFp) {
          REQUIRE(model.alphas(s).size() == q.alpha.size());
          for (size_t g = 0; g < q.alpha.size(); ++g)
            REQUIRE(model.alphas(s)[g] == doctest::Approx(q.alpha[g]).epsilon(1e-6));
        }
        for (int64_t i = 0; i < s.size(); ++i) {
          if (m.method != QuantMethod::kFp) REQUIRE(model.ternary(s)[i] == q.ternary[i]);
          REQUIRE(eff[i] == doctest::Approx(q.weight[i]).epsilon(1e-6));
          zeros += q.ternary[i] == 0;
        }
        weights += s.size();
      }
      CHECK(linears == 14);
      // The rules bite: 3:4 zeroes exactly a quarter, absmean some, fp none.
      if (m.method == QuantMethod::kSherry || m.method == QuantMethod::kSherryNoArenas)
        CHECK(4 * zeros == weights);
      if (m.method == QuantMethod::kAbsmean) CHECK((zeros > weights / 10 && zeros < weights / 2));
    }
}

}  // namespace
}  // namespace sherry::train
