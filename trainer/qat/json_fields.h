// Reads typed fields out of a JSON object with errors that name the file, the field, the expected
// type and the value found; remembers which fields were read so unknown ones can be rejected.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sherry::train {

class JsonFields {
 public:
  // `what` names the file, `object` the JSON object ("model", "train").
  JsonFields(const nlohmann::json& json, std::string what, std::string object)
      : json_(json), what_(std::move(what)), object_(std::move(object)) {}

  // Leaves `out` unchanged when the field is absent.
  template <class T>
  Status read(const char* name, T& out) {
    seen_.insert(name);
    if (!json_.is_object())
      return make_error("{}: '{}' must be a JSON object, found {}", what_, object_, json_.dump());
    auto it = json_.find(name);
    if (it == json_.end()) return Status::success();
    const nlohmann::json& v = *it;
    bool fits = false;
    if constexpr (std::is_same_v<T, bool>) {
      fits = v.is_boolean();
    } else if constexpr (std::is_same_v<T, std::vector<int>>) {
      fits = v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) {
               return x.is_number_integer();
             });
    } else if constexpr (std::is_integral_v<T>) {
      fits = v.is_number_integer();
    } else if constexpr (std::is_floating_point_v<T>) {
      fits = v.is_number();
    } else {
      fits = v.is_string();
    }
    if (!fits)
      return make_error("{}: {}.{} must be {}, found {}", what_, object_, name, type_name<T>(),
                        v.dump());
    out = v.get<T>();
    return Status::success();
  }

  // A field handled elsewhere (a nested object).
  void mark_read(const char* name) { seen_.insert(name); }

  Status reject_unknown() const {
    if (!json_.is_object()) return Status::success();
    for (const auto& [key, value] : json_.items())
      if (!seen_.count(key))
        return make_error("{}: unknown field {}.{} (value {})", what_, object_, key, value.dump());
    return Status::success();
  }

 private:
  template <class T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>)
      return "a boolean";
    else if constexpr (std::is_same_v<T, std::vector<int>>)
      return "a list of integers";
    else if constexpr (std::is_integral_v<T>)
      return "an integer";
    else if constexpr (std::is_floating_point_v<T>)
      return "a number";
    else
      return "a string";
  }
  const nlohmann::json& json_;
  std::string what_;
  std::string object_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace sherry::train
