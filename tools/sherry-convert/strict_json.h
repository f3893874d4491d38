// JSON as sherry-convert reads it (nlohmann-json, Debian's nlohmann-json3-dev): a parser that
// rejects what nlohmann accepts silently (duplicate keys, where it keeps the last) or that no
// checkpoint file needs (nesting beyond kMaxJsonDepth), and typed look-ups into an object whose
// errors name the file and the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sherry::hf {

inline constexpr int kMaxJsonDepth = 16;

// Errors: "<what>: expected valid JSON, found: <nlohmann's message>", a duplicate key, too deep.
Result<nlohmann::json> parse_strict_json(std::string_view text, const std::string& what);

// Look-ups in a JSON object; a member that is null counts as absent (config.json writes nulls).
class JsonObject {
 public:
  // `object` must be a JSON object and outlive this.
  JsonObject(const nlohmann::json& object, std::string source)
      : object_(object), source_(std::move(source)) {}

  const nlohmann::json* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // An integer in [min, max]; required, or `fallback` when absent.
  Result<int64_t> integer(std::string_view key, int64_t min, int64_t max) const;
  Result<int64_t> integer_or(std::string_view key, int64_t fallback, int64_t min,
                             int64_t max) const;
  // A number (integer or float) in [min, max], or `fallback` when absent.
  Result<double> number_or(std::string_view key, double fallback, double min, double max) const;
  Result<bool> boolean_or(std::string_view key, bool fallback) const;
  Result<std::string> string_or(std::string_view key, std::string fallback) const;

  // "<source>: key '<key>': expected <expected>, found <what the value is>".
  Error mismatch(std::string_view key, std::string_view expected) const;
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& object_;
  std::string source_;
};

}  // namespace sherry::hf
