#include "tools/sherry-convert/strict_json.h"

#include <set>
#include <vector>

namespace sherry::hf {
namespace {

using nlohmann::json;

// Thrown from the parser's callback to stop at a duplicate key or too deep a nesting.
struct ShapeError {
  std::string message;
};

// A value for a message: its JSON text, shortened.
std::string show(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return fmt::format("{} {}", value.type_name(), text);
}

}  // namespace

Result<json> parse_strict_json(std::string_view text, const std::string& what) {
  std::vector<std::set<std::string>> keys;  // the keys seen in each open object
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) {
      throw ShapeError{
          fmt::format("expected JSON nested at most {} deep, found deeper", kMaxJsonDepth)};
    }
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys.empty() && !keys.back().insert(key).second) {
          throw ShapeError{fmt::format("expected unique keys, found '{}' twice", key)};
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const ShapeError& e) {
    return make_error("{}: {}", what, e.message);
  } catch (const json::exception& e) {
    return make_error("{}: expected valid JSON, found: {}", what, e.what());
  }
}

const json* JsonObject::find(std::string_view key) const {
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

Error JsonObject::mismatch(std::string_view key, std::string_view expected) const {
  const json* value = find(key);
  return make_error("{}: key '{}': expected {}, found {}", source_, key, expected,
                    value ? show(*value) : std::string("no such key"));
}

Result<int64_t> JsonObject::integer(std::string_view key, int64_t min, int64_t max) const {
  const json* value = find(key);
  const std::string expected = fmt::format("an integer in [{}, {}]", min, max);
  if (value == nullptr || !value->is_number_integer()) return mismatch(key, expected);
  // Unsigned values above INT64_MAX are out of range either way.
  if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(max)) {
    return mismatch(key, expected);
  }
  const auto v = value->get<int64_t>();
  if (v < min || v > max) return mismatch(key, expected);
  return v;
}

Result<int64_t> JsonObject::integer_or(std::string_view key, int64_t fallback, int64_t min,
                                       int64_t max) const {
  if (!has(key)) return fallback;
  return integer(key, min, max);
}

Result<double> JsonObject::number_or(std::string_view key, double fallback, double min,
                                     double max) const {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) return mismatch(key, fmt::format("a number in [{}, {}]", min, max));
  const auto v = value->get<double>();
  if (!(v >= min && v <= max)) return mismatch(key, fmt::format("a number in [{}, {}]", min, max));
  return v;
}

Result<bool> JsonObject::boolean_or(std::string_view key, bool fallback) const {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return mismatch(key, "true or false");
  return value->get<bool>();
}

Result<std::string> JsonObject::string_or(std::string_view key, std::string fallback) const {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) return mismatch(key, "a string");
  return value->get<std::string>();
}

}  // namespace sherry::hf
