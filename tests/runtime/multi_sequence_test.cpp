// Several sequences in one forward pass (ModelOptions::sequences, forward(span<BatchToken>)), as
// the server decodes its slots: each sequence's logits are those of the same sequence run alone
// on a model of its own.
//
// What may differ between the two: the linear layers see n tokens at once instead of one. The
// Sherry/STQ1_0 kernels' int32 accumulators and their per-token float scaling do not depend on n,
// nor do the portable float GEMM's per-token sums, norms, RoPE and attention (one task per token
// and head), so with the portable float path the logits are bit-identical. The vectorised float
// GEMM rows (the LM head, float layers) sum one token's K products in four FMA chains and several
// tokens' in one chain each, so there the logits agree within the bound the batched prefill is
// held to against token-by-token decoding (llama_model_test.cpp), 1e-4 of the largest logit.
#include <cmath>
#include <cstring>

#include <doctest/doctest.h>

#include "runtime/float_kernels.h"
#include "runtime/llama_model.h"
#include "tiny_llama.h"

namespace sherry::runtime {
namespace {

using testing::LinearFormat;
using testing::relative_error;
using testing::sample_tokens;
using testing::TinySpec;

std::unique_ptr<LlamaModel> load_ok(const std::string& path, const ModelOptions& options) {
  auto model = LlamaModel::load(path, options);
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message()));
  return std::move(*model);
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// One sequence run alone on a model of its own: its prompt, then one token at a time.
struct Alone {
  std::unique_ptr<LlamaModel> model;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // after the last token
  void prompt(const std::vector<int32_t>& prompt_tokens) {
    tokens = prompt_tokens;
    auto out = model->forward(tokens, 0);
    REQUIRE(out.ok());
    logits.assign(out->begin(), out->end());
  }
  void push(int32_t token) {
    tokens.push_back(token);
    auto out = model->forward(std::span<const int32_t>(&tokens.back(), 1),
                              static_cast<int64_t>(tokens.size()) - 1);
    REQUIRE(out.ok());
    logits.assign(out->begin(), out->end());
  }
};

enum class Compare { kBitExact, kTolerance };

// Three sequences with prompts of 5, 9 and 3 tokens: prompts split across passes and mixed with
// other sequences' decode tokens (as a server admits a request while others decode), then decode
// steps over all three in a shuffled order. Every logits row of the batched passes is checked
// against the same sequence run alone, and the tokens each decodes (greedy, from the batched
// logits) are fed to both.
void check_batched_matches_alone(LinearFormat format, jit::KernelBackend backend, Compare compare) {
  TinySpec spec;
  spec.format = format;
  spec.seed = 21;
  const std::string path = testing::temp_path("multi_sequence.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  ModelOptions options;
  options.threads = 2;
  options.backend = backend;
  options.batch = 8;
  options.kv_type = KvType::kF32;
  std::vector<Alone> alone(3);
  for (Alone& a : alone) a.model = load_ok(path, options);
  options.sequences = 3;
  auto batched = load_ok(path, options);
  REQUIRE(batched->sequences() == 3);

  const std::vector<std::vector<int32_t>> prompts = {sample_tokens(5, weights.vocab, 1),
                                                     sample_tokens(9, weights.vocab, 2),
                                                     sample_tokens(3, weights.vocab, 3)};
  std::vector<int64_t> next_position(3, 0);
  int64_t rows_checked = 0;
  // One batched pass: `entries` are (sequence, token or -1 for "its next decoded token", logits).
  struct Entry {
    int32_t sequence;
    int32_t token;
    bool logits;
  };
  auto pass = [&](const std::vector<Entry>& entries) {
    std::vector<BatchToken> batch;
    for (const Entry& e : entries) {
      const int32_t token = e.token >= 0 ? e.token : argmax(alone[e.sequence].logits);
      if (e.token < 0) alone[e.sequence].push(token);
      batch.push_back({token, e.sequence, next_position[e.sequence]++, e.logits});
    }
    auto logits = batched->forward(batch);
    REQUIRE_MESSAGE(logits.ok(), (logits.ok() ? "" : logits.error().message()));
    const auto vocab = static_cast<size_t>(weights.vocab);
    size_t row = 0;
    for (const Entry& e : entries) {
      if (!e.logits) continue;
      const std::span<const float> got = logits->subspan(row++ * vocab, vocab);
      const std::vector<float>& want = alone[e.sequence].logits;
      INFO("sequence ", e.sequence, " position ", next_position[e.sequence] - 1);
      if (compare == Compare::kBitExact) {
        CHECK(std::memcmp(got.data(), want.data(), vocab * sizeof(float)) == 0);
      } else {
        CHECK(relative_error(got, want) < 1e-4);
        CHECK(argmax(got) == argmax(want));
      }
      ++rows_checked;
    }
    CHECK(logits->size() == row * vocab);
  };
  for (int s = 0; s < 3; ++s) alone[s].prompt(prompts[s]);
  const auto& p = prompts;
  // Sequence 0's prompt with the first 3 of sequence 1's (no logits yet).
  pass({{0, p[0][0], false},
        {1, p[1][0], false},
        {0, p[0][1], false},
        {1, p[1][1], false},
        {0, p[0][2], false},
        {0, p[0][3], false},
        {1, p[1][2], false},
        {0, p[0][4], true}});
  // The rest of sequence 1's prompt beside sequence 0's first decoded token.
  pass({{1, p[1][3], false},
        {1, p[1][4], false},
        {0, -1, true},
        {1, p[1][5], false},
        {1, p[1][6], false},
        {1, p[1][7], false},
        {1, p[1][8], true}});
  // Sequence 2's prompt beside decode tokens of 1 and 0.
  pass(
      {{1, -1, true}, {2, p[2][0], false}, {2, p[2][1], false}, {0, -1, true}, {2, p[2][2], true}});
  // Decode steps over all three, in changing orders.
  for (int step = 0; step < 6; ++step) {
    const int first = step % 3;
    pass({{first, -1, true}, {(first + 2) % 3, -1, true}, {(first + 1) % 3, -1, true}});
  }
  CHECK(rows_checked == 3 + 3 + 18);
}

TEST_CASE("a batched step over several sequences gives each sequence's logits bit for bit") {
  // The portable float path, whose per-token sums do not depend on the number of tokens.
  set_float_kernels_isa(FloatIsa::kGeneric);
  SUBCASE("float weights") {
    check_batched_matches_alone(LinearFormat::kF32, jit::KernelBackend::kJit, Compare::kBitExact);
  }
  SUBCASE("sherry weights on the jit kernels") {
    check_batched_matches_alone(LinearFormat::kSherry, jit::KernelBackend::kJit,
                                Compare::kBitExact);
  }
  SUBCASE("sherry weights on the reference kernels") {
    check_batched_matches_alone(LinearFormat::kSherry, jit::KernelBackend::kReference,
                                Compare::kBitExact);
  }
  set_float_kernels_isa(std::nullopt);
}

TEST_CASE("a batched step over several sequences matches each sequence on the vectorised path") {
  check_batched_matches_alone(LinearFormat::kF16, jit::KernelBackend::kJit, Compare::kTolerance);
  check_batched_matches_alone(LinearFormat::kSherry, jit::KernelBackend::kJit, Compare::kTolerance);
}

TEST_CASE("a batch over several sequences is checked before it runs") {
  const std::string path = testing::temp_path("multi_sequence_errors.gguf");
  const auto weights = testing::write_tiny_llama(path, TinySpec{});
  ModelOptions options;
  options.threads = 1;
  options.context = 16;
  options.batch = 4;
  options.sequences = 2;
  auto model = load_ok(path, options);
  auto error_of = [&](const std::vector<BatchToken>& batch) {
    auto logits = model->forward(batch);
    REQUIRE_FALSE(logits.ok());
    return logits.error().message();
  };
  CHECK(error_of({}).find("batch of 0 tokens: expected 1 to 4") != std::string::npos);
  CHECK(error_of(std::vector<BatchToken>(5)).find("batch of 5 tokens: expected 1 to 4") !=
        std::string::npos);
  const auto vocab = static_cast<int32_t>(weights.vocab);
  CHECK(error_of({{1, 0, 0, true}, {vocab, 1, 0, true}})
            .find("batch token 1: expected an id in [0, " + std::to_string(vocab) + "), found " +
                  std::to_string(vocab)) != std::string::npos);
  CHECK(error_of({{1, 2, 0, true}}).find("expected a sequence in [0, 2), found 2") !=
        std::string::npos);
  CHECK(error_of({{1, -1, 0, true}}).find("expected a sequence in [0, 2), found -1") !=
        std::string::npos);
  CHECK(error_of({{1, 1, 16, true}})
            .find("expected a position within the context of 16 tokens, found 16") !=
        std::string::npos);
  CHECK(error_of({{1, 0, 3, false}, {2, 1, 0, false}, {3, 0, 3, true}})
            .find("batch token 2: expected positions of sequence 0 to increase along the batch, "
                  "found 3 after 3") != std::string::npos);
  // A valid batch after the errors: both sequences, logits of one token.
  auto ok = model->forward(std::vector<BatchToken>{{1, 0, 0, false}, {1, 1, 0, true}});
  REQUIRE(ok.ok());
  CHECK(ok->size() == static_cast<size_t>(weights.vocab));
}

TEST_CASE("a model with several sequences reserves a cache for each") {
  const std::string path = testing::temp_path("multi_sequence_cache.gguf");
  testing::write_tiny_llama(path, TinySpec{});
  ModelOptions options;
  options.threads = 1;
  auto one = load_ok(path, options);
  options.sequences = 4;
  auto four = load_ok(path, options);
  CHECK(four->sequences() == 4);
  CHECK(four->context() == one->context());
  CHECK(four->kv_cache_bytes() == 4 * one->kv_cache_bytes());
  options.sequences = 0;
  auto none = LlamaModel::load(path, options);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message().find("sequences >= 1") != std::string::npos);
}

}  // namespace
}  // namespace sherry::runtime
