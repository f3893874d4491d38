// The body of POST /v1/chat/completions or /v1/completions → a checked CompletionRequest, or the
// 400 error naming the field, what was expected and what was found: an empty body, bytes that
// are not UTF-8, malformed JSON, wrong types, unknown roles, content parts other than text,
// max_tokens ≤ 0, an unsupported option (n > 1, logprobs). Unknown fields are ignored, as OpenAI's
// clients send fields a server may not know.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"
#include "tools/sherry-server/api_error.h"

namespace sherry::server {

enum class Endpoint : uint8_t { kChat, kCompletion };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kChat;
  nlohmann::ordered_json messages;  // chat: [{role, content (text)}, ...]
  std::string prompt;               // completion
  std::optional<int64_t> max_tokens;
  runtime::SamplerOptions sampling;  // the server's defaults with the request's values
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool truncate = false;       // sherry: cut the prompt's start instead of refusing it
  bool ignore_eos = false;     // llama.cpp's: generate max_tokens whatever the model says
  std::string model;           // echoed back
};

// Roles a chat message may have.
inline constexpr std::string_view kRoles[] = {"system", "developer", "user", "assistant", "tool"};

// `defaults` are the sampling options when the request sets none.
std::optional<ApiError> parse_request(std::string_view body, Endpoint endpoint,
                                      const runtime::SamplerOptions& defaults,
                                      CompletionRequest& out);

// The first byte that is not part of valid UTF-8 (npos when all are).
size_t invalid_utf8_offset(std::string_view text);

}  // namespace sherry::server
