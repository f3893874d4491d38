#include "tools/sherry-server/completion_task.h"

namespace sherry::server {

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "stop";
}

bool CompletionTask::wait(std::chrono::milliseconds timeout, TaskOutput& out) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !pending_.empty() || (finished_ && !reported_); });
  if (pending_.empty() && !(finished_ && !reported_)) return false;
  out = TaskOutput{};
  out.text = std::move(pending_);
  pending_.clear();
  if (finished_ && !reported_) {
    reported_ = true;
    TaskOutput end = end_;
    end.text = std::move(out.text);
    out = std::move(end);
  }
  return true;
}

void CompletionTask::push_text(std::string_view text) {
  if (text.empty()) return;
  {
    std::lock_guard lock(mutex_);
    pending_ += text;
  }
  ready_.notify_all();
}

void CompletionTask::finish(FinishReason reason, int64_t completion_tokens, int64_t cached_tokens,
                            double prompt_seconds, double generation_seconds) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    end_.finished = true;
    end_.reason = reason;
    end_.prompt_tokens = static_cast<int64_t>(params_.prompt.size());
    end_.completion_tokens = completion_tokens;
    end_.cached_tokens = cached_tokens;
    end_.prompt_seconds = prompt_seconds;
    end_.generation_seconds = generation_seconds;
  }
  ready_.notify_all();
}

}  // namespace sherry::server
