#include "tools/sherry-server/request_parser.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sherry::server {
namespace {

using Json = nlohmann::ordered_json;

std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return v.dump();
    case Json::value_t::string: {
      std::string s = v.get<std::string>();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "the string " + Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a value of another type";
  }
}

ApiError wrong(const std::string& field, const std::string& expected, const Json& found) {
  return bad_request(field,
                     fmt::format("{}: expected {}, found {}", field, expected, describe(found)));
}

// Reads the optional fields of the body; each returns an error or stores the value.
class Fields {
 public:
  explicit Fields(const Json& body) : body_(body) {}

  const Json* get(const char* name) const {
    const auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<ApiError> number(const char* name, double low, double high, float& out) const {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number() || v->get<double>() < low || v->get<double>() > high ||
        !std::isfinite(v->get<double>())) {
      return wrong(name, fmt::format("a number in [{}, {}]", low, high), *v);
    }
    out = v->get<float>();
    return std::nullopt;
  }

  std::optional<ApiError> integer(const char* name, int64_t low,
                                  std::optional<int64_t>& out) const {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer() || v->get<int64_t>() < low) {
      return wrong(name, fmt::format("an integer >= {}", low), *v);
    }
    out = v->get<int64_t>();
    return std::nullopt;
  }

  std::optional<ApiError> boolean(const char* name, bool& out) const {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) return wrong(name, "true or false", *v);
    out = v->get<bool>();
    return std::nullopt;
  }

 private:
  const Json& body_;
};

// A message's content: a string, or text parts ({"type": "text", "text": ...}) joined.
std::optional<ApiError> message_content(const Json& content, const std::string& field,
                                        std::string& out) {
  if (content.is_string()) {
    out = content.get<std::string>();
    return std::nullopt;
  }
  if (!content.is_array()) return wrong(field, "a string or an array of text parts", content);
  for (size_t j = 0; j < content.size(); ++j) {
    const Json& part = content[j];
    const std::string at = fmt::format("{}[{}]", field, j);
    if (!part.is_object()) return wrong(at, "an object {\"type\": \"text\", \"text\": ...}", part);
    const auto type = part.find("type");
    if (type == part.end() || !type->is_string() || *type != "text") {
      return wrong(at + ".type", "\"text\" (the only content part supported)",
                   type == part.end() ? Json() : *type);
    }
    const auto text = part.find("text");
    if (text == part.end() || !text->is_string()) {
      return wrong(at + ".text", "a string", text == part.end() ? Json() : *text);
    }
    out += text->get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> parse_messages(const Json& body, Json& out) {
  const auto it = body.find("messages");
  if (it == body.end())
    return bad_request("messages", "messages: expected an array of messages, found no such field");
  if (!it->is_array() || it->empty())
    return wrong("messages", "a non-empty array of messages", *it);
  out = Json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    const std::string field = fmt::format("messages[{}]", i);
    if (!m.is_object()) return wrong(field, "an object with a role and a content", m);
    const auto role = m.find("role");
    if (role == m.end())
      return bad_request(field + ".role", field +
                                              ".role: expected one of system, developer, user, "
                                              "assistant, tool, found no such field");
    const bool known = role->is_string() && std::find(std::begin(kRoles), std::end(kRoles),
                                                      role->get<std::string>()) != std::end(kRoles);
    if (!known)
      return wrong(field + ".role", "one of system, developer, user, assistant, tool", *role);
    const auto content = m.find("content");
    std::string text;
    if (content == m.end() || content->is_null()) {
      if (*role != "assistant") {
        return bad_request(field + ".content",
                           fmt::format("{}.content: expected a string or text parts, found {}",
                                       field, content == m.end() ? "no such field" : "null"));
      }
    } else if (auto error = message_content(*content, field + ".content", text)) {
      return error;
    }
    Json normalized;
    normalized["role"] = role->get<std::string>();
    normalized["content"] = text;
    const auto name = m.find("name");
    if (name != m.end() && name->is_string()) normalized["name"] = *name;
    out.push_back(std::move(normalized));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_prompt(const Json& body, std::string& out) {
  const auto it = body.find("prompt");
  if (it == body.end())
    return bad_request("prompt", "prompt: expected a string, found no such field");
  if (it->is_string()) {
    out = it->get<std::string>();
    return std::nullopt;
  }
  if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
    out = (*it)[0].get<std::string>();
    return std::nullopt;
  }
  return wrong("prompt", "a string (or an array of one string)", *it);
}

std::optional<ApiError> parse_stop(const Json* stop, std::vector<std::string>& out) {
  if (stop == nullptr) return std::nullopt;
  constexpr size_t kMaxStops = 16;
  if (stop->is_string()) {
    if (!stop->get<std::string>().empty()) out.push_back(stop->get<std::string>());
    return std::nullopt;
  }
  if (!stop->is_array() || stop->size() > kMaxStops) {
    return wrong("stop", fmt::format("a string or an array of at most {} strings", kMaxStops),
                 *stop);
  }
  for (size_t i = 0; i < stop->size(); ++i) {
    if (!(*stop)[i].is_string()) return wrong(fmt::format("stop[{}]", i), "a string", (*stop)[i]);
    if (!(*stop)[i].get<std::string>().empty()) out.push_back((*stop)[i].get<std::string>());
  }
  return std::nullopt;
}

}  // namespace

size_t invalid_utf8_offset(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t length = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      length = 2;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + length > s.size()) return i;
    uint32_t cp = c & (0xff >> (length + 1));
    for (size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::optional<ApiError> parse_request(std::string_view body, Endpoint endpoint,
                                      const runtime::SamplerOptions& defaults,
                                      CompletionRequest& out) {
  if (body.empty()) {
    return bad_request("", "request body: expected a JSON object, found an empty body",
                       "empty_body");
  }
  if (const size_t bad = invalid_utf8_offset(body); bad != std::string_view::npos) {
    return bad_request("",
                       fmt::format("request body: expected UTF-8 text, found the byte 0x{:02x} at "
                                   "offset {} that is not valid UTF-8",
                                   static_cast<unsigned char>(body[bad]), bad),
                       "invalid_utf8");
  }
  Json json;
  try {
    json = Json::parse(body);
  } catch (const Json::parse_error& e) {
    return bad_request(
        "",
        fmt::format("request body: expected JSON, found a syntax error at byte {}: {}", e.byte,
                    e.what()),
        "invalid_json");
  }
  if (!json.is_object()) return wrong("request body", "a JSON object", json);

  out = CompletionRequest{};
  out.endpoint = endpoint;
  out.sampling = defaults;
  const Fields f(json);
  if (const Json* model = f.get("model")) {
    if (!model->is_string()) return wrong("model", "a string", *model);
    out.model = model->get<std::string>();
  }
  if (endpoint == Endpoint::kChat) {
    if (auto e = parse_messages(json, out.messages)) return e;
  } else {
    if (auto e = parse_prompt(json, out.prompt)) return e;
  }
  if (auto e = f.integer("max_tokens", 1, out.max_tokens)) return e;
  if (auto e = f.integer("max_completion_tokens", 1, out.max_tokens)) return e;
  if (auto e = f.number("temperature", 0.0, 100.0, out.sampling.temperature)) return e;
  if (auto e = f.number("top_p", 0.0, 1.0, out.sampling.top_p)) return e;
  if (auto e = f.number("min_p", 0.0, 1.0, out.sampling.min_p)) return e;
  if (auto e = f.number("repeat_penalty", 0.0, 100.0, out.sampling.repeat_penalty)) return e;
  float ignored = 0;
  if (auto e = f.number("presence_penalty", -2.0, 2.0, ignored)) return e;
  if (auto e = f.number("frequency_penalty", -2.0, 2.0, ignored)) return e;
  std::optional<int64_t> top_k;
  if (auto e = f.integer("top_k", 0, top_k)) return e;
  if (top_k) out.sampling.top_k = static_cast<int>(std::min<int64_t>(*top_k, 1 << 30));
  if (const Json* seed = f.get("seed")) {
    if (!seed->is_number_integer()) return wrong("seed", "an integer", *seed);
    if (seed->is_number_unsigned()) {
      out.seed = seed->get<uint64_t>();
    } else if (seed->get<int64_t>() != -1) {  // -1: a random seed, as llama.cpp's
      out.seed = static_cast<uint64_t>(seed->get<int64_t>());
    }
  }
  if (auto e = parse_stop(f.get("stop"), out.stop)) return e;
  if (auto e = f.boolean("stream", out.stream)) return e;
  if (const Json* options = f.get("stream_options")) {
    if (!options->is_object()) return wrong("stream_options", "an object", *options);
    if (auto e = Fields(*options).boolean("include_usage", out.include_usage)) {
      e->param = "stream_options.include_usage";
      e->message = "stream_options." + e->message;
      return e;
    }
  }
  if (auto e = f.boolean("truncate", out.truncate)) return e;
  if (auto e = f.boolean("ignore_eos", out.ignore_eos)) return e;
  if (const Json* n = f.get("n")) {
    if (!n->is_number_integer() || n->get<int64_t>() != 1) {
      return wrong("n", "1 (one choice per request is supported)", *n);
    }
  }
  bool logprobs = false;
  if (const Json* l = f.get("logprobs"); l != nullptr && !l->is_number()) {
    if (auto e = f.boolean("logprobs", logprobs)) return e;
  }
  if (logprobs || (f.get("logprobs") != nullptr && f.get("logprobs")->is_number())) {
    return bad_request("logprobs",
                       "logprobs: expected false or no such field, found a request for log "
                       "probabilities (not supported)");
  }
  return std::nullopt;
}

}  // namespace sherry::server
