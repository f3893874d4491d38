// The scheduler in-process on tiny random models: requests decoded side by side give the text
// each gives alone (bit for bit with the portable float path, whose per-token sums do not depend
// on how many slots share a step: tests/runtime/multi_sequence_test.cpp), stop texts, end of text
// and max_tokens end a request, a cancelled request frees its slot, a prompt that starts like a
// slot's last one reuses its cache, the queue refuses beyond its length.
#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include "runtime/float_kernels.h"
#include "runtime/llama_model.h"
#include "tests/runtime/tiny_llama.h"
#include "tools/sherry-server/slot_scheduler.h"

namespace sherry::server {
namespace {

using runtime::testing::TinySpec;

std::unique_ptr<runtime::LlamaModel> load(const TinySpec& spec, int64_t slots,
                                          const std::string& name) {
  const std::string path = runtime::testing::temp_path(name);
  runtime::testing::write_tiny_llama(path, spec);
  runtime::ModelOptions options;
  options.threads = 2;
  options.sequences = slots;
  options.batch = 16;
  auto model = runtime::LlamaModel::load(path, options);
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message()));
  return std::move(*model);
}

TinySpec sherry_spec(int64_t context = 256) {
  TinySpec spec;
  spec.format = runtime::testing::LinearFormat::kSherry;
  spec.context = context;
  spec.seed = 31;
  return spec;
}

GenerationParams params(std::vector<int32_t> prompt, int64_t max_tokens, float temperature = 0,
                        uint64_t seed = 1) {
  GenerationParams p;
  p.prompt = std::move(prompt);
  p.max_tokens = max_tokens;
  p.sampling.temperature = temperature;
  p.sampling.seed = seed;
  return p;
}

struct Outcome {
  std::string text;
  TaskOutput end;
};

Outcome collect(CompletionTask& task) {
  Outcome o;
  TaskOutput piece;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!task.wait(std::chrono::milliseconds(100), piece)) continue;
    o.text += piece.text;
    if (piece.finished) {
      o.end = piece;
      return o;
    }
  }
  FAIL("the task did not finish in 60 s");
  return o;
}

const std::vector<std::vector<int32_t>> kPrompts = {
    {1, 260, 261, 262, 270},
    {1, 280, 281},
    {1, 265, 266, 267, 268, 269, 271, 272, 273, 274, 275, 276},
};

TEST_CASE("requests decoded side by side give the text each gives alone") {
  runtime::set_float_kernels_isa(runtime::FloatIsa::kGeneric);
  std::vector<GenerationParams> requests;
  for (const auto& p : kPrompts) requests.push_back(params(p, 24));
  requests.push_back(params(kPrompts[0], 24, 0.9f, 7));  // sampled, seeded
  requests.back().sampling.repeat_penalty = 1.2f;

  std::vector<Outcome> alone;
  {
    Metrics metrics;
    auto model = load(sherry_spec(), 1, "alone.gguf");
    SlotScheduler scheduler(*model, 8, metrics);
    for (const GenerationParams& p : requests) {
      auto task = std::make_shared<CompletionTask>(p);
      REQUIRE(scheduler.submit(task));
      alone.push_back(collect(*task));
    }
  }
  Metrics metrics;
  auto model = load(sherry_spec(), 4, "together.gguf");
  SlotScheduler scheduler(*model, 8, metrics);
  std::vector<std::shared_ptr<CompletionTask>> tasks;
  for (const GenerationParams& p : requests) {
    tasks.push_back(std::make_shared<CompletionTask>(p));
    REQUIRE(scheduler.submit(tasks.back()));
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Outcome together = collect(*tasks[i]);
    INFO("request ", i);
    CHECK(together.text == alone[i].text);
    CHECK(together.end.completion_tokens == alone[i].end.completion_tokens);
    CHECK(together.end.reason == alone[i].end.reason);
    CHECK(together.end.prompt_tokens == static_cast<int64_t>(requests[i].prompt.size()));
  }
  runtime::set_float_kernels_isa(std::nullopt);
}

TEST_CASE("a stop text ends the generation and is not returned") {
  Metrics metrics;
  auto model = load(sherry_spec(), 1, "stop.gguf");
  SlotScheduler scheduler(*model, 8, metrics);
  auto free_run = std::make_shared<CompletionTask>(params(kPrompts[2], 40));
  REQUIRE(scheduler.submit(free_run));
  const Outcome full = collect(*free_run);
  REQUIRE(full.text.size() > 12);
  const std::string stop = full.text.substr(8, 3);
  const size_t first = full.text.find(stop);
  GenerationParams p = params(kPrompts[2], 40);
  p.stop = {"never-there", stop};
  auto stopped = std::make_shared<CompletionTask>(p);
  REQUIRE(scheduler.submit(stopped));
  const Outcome cut = collect(*stopped);
  CHECK(cut.text == full.text.substr(0, first));
  CHECK(cut.end.reason == FinishReason::kStop);
  CHECK(cut.end.completion_tokens < full.end.completion_tokens);
}

TEST_CASE("max tokens ends a request with length and end of text with stop") {
  Metrics metrics;
  auto model = load(sherry_spec(), 2, "length.gguf");
  SlotScheduler scheduler(*model, 8, metrics);
  GenerationParams p = params(kPrompts[0], 9);
  p.ignore_eos = true;
  auto task = std::make_shared<CompletionTask>(p);
  REQUIRE(scheduler.submit(task));
  const Outcome o = collect(*task);
  CHECK(o.end.reason == FinishReason::kLength);
  CHECK(o.end.completion_tokens == 9);

  // Every logit 0 and end of text = token 0: greedy decoding ends at the first token.
  TinySpec spec = sherry_spec();
  spec.eos_id = 0;
  spec.zero_output_norm = true;
  auto eos_model = load(spec, 1, "eos.gguf");
  SlotScheduler eos_scheduler(*eos_model, 8, metrics);
  auto ends = std::make_shared<CompletionTask>(params(kPrompts[1], 50));
  REQUIRE(eos_scheduler.submit(ends));
  const Outcome e = collect(*ends);
  CHECK(e.end.reason == FinishReason::kStop);
  CHECK(e.end.completion_tokens == 1);
  CHECK(e.text.empty());
  // With ignore_eos the same model runs to max_tokens.
  GenerationParams ignore = params(kPrompts[1], 5);
  ignore.ignore_eos = true;
  auto goes_on = std::make_shared<CompletionTask>(ignore);
  REQUIRE(eos_scheduler.submit(goes_on));
  CHECK(collect(*goes_on).end.completion_tokens == 5);
}

TEST_CASE("a cancelled request frees its slot for the next one") {
  Metrics metrics;
  auto model = load(sherry_spec(2048), 1, "cancel.gguf");
  SlotScheduler scheduler(*model, 8, metrics);
  GenerationParams long_run = params(kPrompts[0], 2000);
  long_run.ignore_eos = true;
  auto first = std::make_shared<CompletionTask>(long_run);
  auto second = std::make_shared<CompletionTask>(params(kPrompts[1], 5));
  REQUIRE(scheduler.submit(first));
  REQUIRE(scheduler.submit(second));
  TaskOutput piece;
  while (!first->wait(std::chrono::milliseconds(100), piece)) {
  }
  REQUIRE_FALSE(piece.finished);
  first->cancel();
  const Outcome a = collect(*first);
  CHECK(a.end.reason == FinishReason::kCancelled);
  CHECK(a.end.completion_tokens < 2000);
  const Outcome b = collect(*second);
  CHECK(b.end.completion_tokens >= 1);
  CHECK(scheduler.gauges().busy_slots == 0);
}

TEST_CASE("a prompt that starts like a slot's last one reuses its cache") {
  runtime::set_float_kernels_isa(runtime::FloatIsa::kGeneric);
  Metrics metrics;
  auto model = load(sherry_spec(), 2, "reuse.gguf");
  SlotScheduler scheduler(*model, 8, metrics);
  auto turn1 = std::make_shared<CompletionTask>(params(kPrompts[2], 10));
  REQUIRE(scheduler.submit(turn1));
  const Outcome one = collect(*turn1);
  CHECK(one.end.cached_tokens == 0);
  std::vector<int32_t> next = kPrompts[2];
  next.insert(next.end(), {290, 291, 262});
  auto turn2 = std::make_shared<CompletionTask>(params(next, 10));
  REQUIRE(scheduler.submit(turn2));
  const Outcome two = collect(*turn2);
  CHECK(two.end.cached_tokens == static_cast<int64_t>(kPrompts[2].size()));
  // The same text as on a model that computes the whole prompt.
  auto fresh_model = load(sherry_spec(), 1, "fresh.gguf");
  SlotScheduler fresh(*fresh_model, 8, metrics);
  auto again = std::make_shared<CompletionTask>(params(next, 10));
  REQUIRE(fresh.submit(again));
  const Outcome three = collect(*again);
  CHECK(three.end.cached_tokens == 0);
  CHECK(three.text == two.text);
  runtime::set_float_kernels_isa(std::nullopt);
}

TEST_CASE("the queue refuses requests beyond its length and stop ends them all") {
  Metrics metrics;
  auto model = load(sherry_spec(4096), 1, "queue.gguf");
  SlotScheduler scheduler(*model, 1, metrics);
  GenerationParams long_run = params(kPrompts[0], 4000);
  long_run.ignore_eos = true;
  auto running = std::make_shared<CompletionTask>(long_run);
  auto waiting = std::make_shared<CompletionTask>(long_run);
  auto refused = std::make_shared<CompletionTask>(long_run);
  REQUIRE(scheduler.submit(running));
  TaskOutput piece;
  while (!running->wait(std::chrono::milliseconds(100), piece)) {
  }
  CHECK(scheduler.submit(waiting));
  CHECK_FALSE(scheduler.submit(refused));
  const SchedulerGauges g = scheduler.gauges();
  CHECK(g.slots == 1);
  CHECK(g.busy_slots == 1);
  CHECK(g.queued == 1);
  scheduler.stop();
  CHECK(collect(*running).end.reason == FinishReason::kCancelled);
  CHECK(collect(*waiting).end.reason == FinishReason::kCancelled);
  CHECK_FALSE(scheduler.submit(refused));
}

}  // namespace
}  // namespace sherry::server
