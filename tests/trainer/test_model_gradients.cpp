// The whole model's backward pass against finite differences (double precision, tiny config),
// and the STE + Arenas rule for the quantized methods.
#include <doctest/doctest.h>

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
  for (const TensorSlot& s : model.slots()) {
    std::vector<double> values(model.params().begin() + s.offset,
                               model.params().begin() + s.offset + s.size());
    std::vector<double> grads(analytic.begin() + s.offset, analytic.begin() + s.offset + s.size());
    // check_gradient perturbs `values`; mirror them into the model around each loss evaluation.
    auto slot_loss = [&] {
      std::copy(values.begin(), values.end(), model.params().begin() + s.offset);
      return loss();
    };
    testing::check_gradient(s.name, values, grads, slot_loss, 40, 1e-6, 1e-6);
    std::copy(values.begin(), values.end(), model.params().begin() + s.offset);
  }
}

TEST_CASE("model backward matches finite differences with tied embeddings") {
  check_model(true);
}

TEST_CASE("model backward matches finite differences with an untied head") {
  check_model(false);
}

TEST_CASE(
    "quantized methods give the latent weight one plus lambda times the forward weight gradient") {
  const ModelConfig c = tiny_config(true);
  WeightLayout layout;
  layout.group_size = 16;
  const std::vector<int32_t> tokens = {1, 5, 2, 9, 3};
  const std::vector<int32_t> targets = {5, 2, 9, 3, 6};
  for (QuantMethod method :
       {QuantMethod::kSherry, QuantMethod::kSherryNoArenas, QuantMethod::kAbsmean}) {
    const double lambda = 0.3;
    LlamaModel<double> quantized(c, 1, nullptr);
    quantized.init_random(7);
    quantized.set_quantization(method, layout, lambda);
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
    const double factor = 1.0 + method_lambda(method, lambda);
    for (const TensorSlot& s : quantized.slots()) {
      const double f = s.role == TensorRole::kLinear ? factor : 1.0;
      for (int64_t i = 0; i < s.size(); ++i)
        REQUIRE(quantized.grads()[s.offset + i] ==
                doctest::Approx(f * fp.grads()[s.offset + i]).epsilon(1e-9));
    }
  }
}

TEST_CASE(
    "sherry forward weights are alpha times a 3 to 4 ternary plus lambda times the latent weight") {
  const ModelConfig c = tiny_config(true);
  WeightLayout layout;
  layout.group_size = 16;
  LlamaModel<float> model(c, 1, nullptr);
  model.init_random(3);
  model.set_quantization(QuantMethod::kSherry, layout, 0.25);
  const TensorSlot& s = model.slot("blk.1.ffn_down.weight");
  const int8_t* t = model.ternary(s);
  const auto& alpha = model.alphas(s);
  const float* w = model.params().data() + s.offset;
  const float* eff = model.forward_weight(s);
  for (int64_t r = 0; r < s.rows; ++r)
    for (int64_t b = 0; b < s.cols / 4; ++b) {
      int zeros = 0;
      for (int p = 0; p < 4; ++p) zeros += t[r * s.cols + 4 * b + p] == 0;
      REQUIRE(zeros == 1);
    }
  for (int64_t i = 0; i < s.size(); ++i) {
    const int64_t r = i / s.cols, c2 = i % s.cols;
    const float a = alpha[r * (s.cols / 16) + c2 / 16];
    REQUIRE(eff[i] == doctest::Approx(a * t[i] + 0.25f * w[i]));
  }
}

}  // namespace
}  // namespace sherry::train
