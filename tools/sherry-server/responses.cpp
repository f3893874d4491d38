#include "tools/sherry-server/responses.h"

#include <chrono>
#include <random>

#include <fmt/format.h>

namespace sherry::server {
namespace {

using Json = nlohmann::ordered_json;

Json usage(const TaskOutput& end) {
  Json u;
  u["prompt_tokens"] = end.prompt_tokens;
  u["completion_tokens"] = end.completion_tokens;
  u["total_tokens"] = end.prompt_tokens + end.completion_tokens;
  u["prompt_tokens_details"] = {{"cached_tokens", end.cached_tokens}};
  return u;
}

Json timings(const TaskOutput& end) {
  Json t;
  t["prompt_n"] = end.prompt_tokens - end.cached_tokens;
  t["prompt_ms"] = end.prompt_seconds * 1e3;
  t["predicted_n"] = end.completion_tokens;
  t["predicted_ms"] = end.generation_seconds * 1e3;
  t["predicted_per_second"] =
      end.generation_seconds > 0
          ? static_cast<double>(end.completion_tokens) / end.generation_seconds
          : 0.0;
  return t;
}

const char* finish_reason(const TaskOutput& end) {
  // A request cut short by the server stopping ends as "stop" (the client is still there).
  return end.reason == FinishReason::kLength ? "length" : "stop";
}

Json header(const ResponseInfo& info, bool chunk) {
  Json j;
  j["id"] = info.id;
  j["object"] = info.endpoint == Endpoint::kChat
                    ? (chunk ? "chat.completion.chunk" : "chat.completion")
                    : "text_completion";
  j["created"] = info.created;
  j["model"] = info.model;
  j["system_fingerprint"] = "sherry";
  return j;
}

}  // namespace

std::string json_text(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

ResponseInfo make_response_info(Endpoint endpoint, std::string model) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  ResponseInfo info;
  info.endpoint = endpoint;
  info.id = fmt::format("{}{:016x}{:08x}", endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-",
                        rng(), static_cast<uint32_t>(rng()));
  info.created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  info.model = std::move(model);
  return info;
}

Json completion_response(const ResponseInfo& info, const std::string& text, const TaskOutput& end) {
  Json j = header(info, false);
  Json choice;
  choice["index"] = 0;
  if (info.endpoint == Endpoint::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason(end);
  j["choices"] = Json::array({choice});
  j["usage"] = usage(end);
  j["timings"] = timings(end);
  return j;
}

Json stream_chunk(const ResponseInfo& info, const std::string& text, bool first,
                  const TaskOutput* end, bool include_usage) {
  Json j = header(info, true);
  Json choice;
  choice["index"] = 0;
  if (info.endpoint == Endpoint::kChat) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && end == nullptr)) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = end != nullptr ? Json(finish_reason(*end)) : Json();
  j["choices"] = Json::array({choice});
  if (include_usage) j["usage"] = nullptr;
  return j;
}

Json usage_chunk(const ResponseInfo& info, const TaskOutput& end) {
  Json j = header(info, true);
  j["choices"] = Json::array();
  j["usage"] = usage(end);
  j["timings"] = timings(end);
  return j;
}

}  // namespace sherry::server
