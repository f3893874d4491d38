// OpenAI's response objects for /v1/chat/completions ("chat.completion", and
// "chat.completion.chunk" when streamed) and /v1/completions ("text_completion"), with `usage` (and
// llama-server's `timings`, which clients ignore).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/sherry-server/completion_task.h"
#include "tools/sherry-server/request_parser.h"

namespace sherry::server {

struct ResponseInfo {
  Endpoint endpoint = Endpoint::kChat;
  std::string id;  // chatcmpl-… / cmpl-…
  int64_t created = 0;
  std::string model;
};
ResponseInfo make_response_info(Endpoint endpoint, std::string model);

// The whole answer of a request that was not streamed.
nlohmann::ordered_json completion_response(const ResponseInfo& info, const std::string& text,
                                           const TaskOutput& end);
// One streamed chunk: `text` (the first chat chunk also carries the assistant role), and with
// `end` the finish reason.
nlohmann::ordered_json stream_chunk(const ResponseInfo& info, const std::string& text, bool first,
                                    const TaskOutput* end, bool include_usage);
// stream_options.include_usage: the last chunk, no choices, the usage.
nlohmann::ordered_json usage_chunk(const ResponseInfo& info, const TaskOutput& end);

// The JSON text sent. A model can produce bytes that are not UTF-8 (a byte-fallback token alone,
// a random model): those become U+FFFD instead of failing.
std::string json_text(const nlohmann::ordered_json& json);

}  // namespace sherry::server
