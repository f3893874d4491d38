// One generation request between an HTTP thread and the decode thread: its prompt tokens and
// options go in; text comes out through a channel the HTTP thread reads as it is decoded (for
// server-sent events) or at the end. The HTTP side cancels it when the client goes away; the
// decode thread sees that before its next step and frees the slot.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sampler.h"

namespace sherry::server {

struct GenerationParams {
  std::vector<int32_t> prompt;       // tokens, fewer than the context
  int64_t max_tokens = 1;            // >= 1, fits the context after the prompt
  runtime::SamplerOptions sampling;  // seed included
  std::vector<std::string> stop;     // texts that end the generation (not returned)
  bool ignore_eos = false;           // end-of-text tokens do not end it
};

enum class FinishReason : uint8_t {
  kStop,       // end of text, a stop text, the template's end of turn
  kLength,     // max_tokens or the context
  kCancelled,  // the client went away, or the server is stopping
};
const char* to_string(FinishReason reason);  // "stop", "length", "cancelled"

// What the reader gets from one wait: the text since the last wait, and the end if it came.
struct TaskOutput {
  std::string text;
  bool finished = false;
  FinishReason reason = FinishReason::kStop;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens found in the slot's cache (not recomputed)
  double prompt_seconds = 0;
  double generation_seconds = 0;
};

class CompletionTask {
 public:
  explicit CompletionTask(GenerationParams params) : params_(std::move(params)) {}
  const GenerationParams& params() const { return params_; }

  // Reader: waits up to `timeout` for text or the end; false when nothing came.
  bool wait(std::chrono::milliseconds timeout, TaskOutput& out);
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // Decode thread.
  void push_text(std::string_view text);
  void finish(FinishReason reason, int64_t completion_tokens, int64_t cached_tokens,
              double prompt_seconds, double generation_seconds);

 private:
  GenerationParams params_;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::condition_variable ready_;
  std::string pending_;
  bool finished_ = false;
  bool reported_ = false;  // the end was handed to the reader
  TaskOutput end_;
};

}  // namespace sherry::server
