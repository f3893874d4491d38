// The slots and the decode loop. Each of the model's sequences is a slot with its own KV cache;
// requests wait in a bounded queue until a slot is free. One thread runs the model: each step is
// ONE forward pass over the next token of every generating slot plus as much of a new request's
// prompt as the batch holds (runtime::LlamaModel::forward over BatchTokens), so the linear layers
// run their GEMM kernels once for all slots. A slot keeps the tokens of its last request, and a
// new request whose prompt starts the same way (the next turn of a chat) reuses them.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/llama_model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer/tokenizer.h"
#include "tools/sherry-server/completion_task.h"
#include "tools/sherry-server/metrics.h"

namespace sherry::server {

class SlotScheduler {
 public:
  // The model's sequences are the slots (its batch must hold one token per slot); at most
  // `max_queue` requests wait beyond them.
  SlotScheduler(runtime::LlamaModel& model, int64_t max_queue, Metrics& metrics);
  ~SlotScheduler();  // stop()
  SlotScheduler(const SlotScheduler&) = delete;
  SlotScheduler& operator=(const SlotScheduler&) = delete;

  // Queues a task (prompt shorter than the context, max_tokens fitting after it); false when
  // the queue is full.
  bool submit(std::shared_ptr<CompletionTask> task);
  // Ends the loop: running and queued tasks finish as cancelled.
  void stop();

  SchedulerGauges gauges() const;

 private:
  struct Slot {
    int32_t id = 0;
    std::shared_ptr<CompletionTask> task;  // null when free
    std::vector<int32_t> tokens;           // in the cache at [0, cached), then what is queued
    int64_t cached = 0;                    // positions of the cache holding tokens[0, cached)
    int64_t prompt_end = 0;                // tokens[0, prompt_end) is the prompt
    int64_t reused = 0;                    // prompt tokens found in the cache
    int64_t generated = 0;
    std::optional<runtime::Sampler> sampler;
    std::optional<runtime::Detokenizer> detokenizer;
    std::string held;  // decoded text held back: it may be the start of a stop text
    std::chrono::steady_clock::time_point start;
    double prompt_seconds = 0;
  };

  void run();
  void admit(Slot& slot, std::shared_ptr<CompletionTask> task);
  // One forward pass over every busy slot; false when there was nothing to run.
  bool step();
  void after_logits(Slot& slot, std::span<const float> logits);
  void finish(Slot& slot, FinishReason reason);
  // Hands out the decoded text that cannot be the start of a stop text; true when a stop text
  // was found (the text before it is handed out, the rest dropped).
  bool emit(Slot& slot, std::string_view text);

  runtime::LlamaModel& model_;
  const runtime::Tokenizer& tokenizer_;
  Metrics& metrics_;
  const int64_t max_queue_;
  std::vector<Slot> slots_;
  std::vector<runtime::BatchToken> batch_;  // one step's tokens
  std::vector<int32_t> batch_slot_;         // the slot of each token of batch_

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<CompletionTask>> queue_;  // under mutex_
  int64_t busy_ = 0;                                   // under mutex_
  bool stopping_ = false;                              // under mutex_
  std::thread thread_;
};

}  // namespace sherry::server
