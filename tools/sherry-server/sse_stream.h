// A completion streamed as server-sent events (OpenAI's `"stream": true`): one `data: {chunk}`
// event per piece of decoded text as the decode thread hands it over, a last chunk with the
// finish reason (and a usage chunk with stream_options.include_usage), then `data: [DONE]`.
// When the client has gone (a write fails, or the socket stops being writable while waiting
// for text) the task is cancelled, which frees its slot before the next decode step.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/sherry-server/completion_task.h"
#include "tools/sherry-server/responses.h"

namespace httplib {
class DataSink;
}

namespace sherry::server {

// "data: <json>\n\n"
std::string sse_event(const nlohmann::ordered_json& json);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

class CompletionStream {
 public:
  CompletionStream(std::shared_ptr<CompletionTask> task, ResponseInfo info, bool include_usage)
      : task_(std::move(task)), info_(std::move(info)), include_usage_(include_usage) {}

  // The body of httplib's chunked content provider: writes what is ready (waiting a little when
  // nothing is); false when the client is gone (the task is then cancelled).
  bool pump(httplib::DataSink& sink);
  // The provider's releaser: the response ended (sent, or the connection dropped).
  void release() { task_->cancel(); }
  int64_t completion_tokens() const { return completion_tokens_; }

 private:
  bool write(httplib::DataSink& sink, const std::string& data);

  std::shared_ptr<CompletionTask> task_;
  ResponseInfo info_;
  bool include_usage_;
  bool first_ = true;
  bool done_ = false;
  int64_t completion_tokens_ = 0;
};

}  // namespace sherry::server
