#include "tools/sherry-server/sse_stream.h"

#include <httplib.h>

namespace sherry::server {

std::string sse_event(const nlohmann::ordered_json& json) {
  return "data: " + json_text(json) + "\n\n";
}

bool CompletionStream::write(httplib::DataSink& sink, const std::string& data) {
  if (sink.write(data.data(), data.size())) return true;
  task_->cancel();
  return false;
}

bool CompletionStream::pump(httplib::DataSink& sink) {
  if (done_) return true;
  if (first_ && info_.endpoint == Endpoint::kChat) {
    // The role comes first, before any text, as OpenAI's stream does.
    if (!write(sink, sse_event(stream_chunk(info_, "", true, nullptr, include_usage_))))
      return false;
    first_ = false;
  }
  TaskOutput out;
  if (!task_->wait(std::chrono::milliseconds(50), out)) {
    if (sink.is_writable()) return true;
    task_->cancel();
    return false;
  }
  if (!out.text.empty() &&
      !write(sink, sse_event(stream_chunk(info_, out.text, first_, nullptr, include_usage_)))) {
    return false;
  }
  first_ = false;
  if (!out.finished) return true;
  completion_tokens_ = out.completion_tokens;
  std::string tail = sse_event(stream_chunk(info_, "", false, &out, include_usage_));
  if (include_usage_) tail += sse_event(usage_chunk(info_, out));
  tail += kSseDone;
  if (!write(sink, tail)) return false;
  done_ = true;
  sink.done();
  return true;
}

}  // namespace sherry::server
