#include "runtime/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/tokenizer/unicode.h"

namespace sherry::jinja {
namespace {

// Python's repr of a str: single quotes unless the text has ' and no ".
std::string string_repr(const std::string& s) {
  const char quote =
      s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

// json.dumps of a str with ensure_ascii=False.
void json_string(const std::string& s, std::string& out) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

struct JsonFormat {
  int indent;
  bool sort_keys;
  std::string item_separator;
  std::string key_separator;
};

// json.dumps's key conversion: str as is, numbers, booleans and None by their JSON text.
std::string json_key(const Value& key) {
  if (key.is_string()) return key.as_string();
  if (key.is_bool()) return key.as_bool() ? "true" : "false";
  if (key.is_none()) return "null";
  if (key.is_int()) return std::to_string(key.as_int());
  if (key.is_float()) return python_float_repr(key.as_number());
  throw RenderError(
      fmt::format("keys must be str, int, float, bool or None, not {}", key.type_name()));
}

void json_value(const Value& v, const JsonFormat& f, int depth, std::string& out) {
  const auto newline = [&](int level) {
    if (f.indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(f.indent * level), ' ');
  };
  if (v.is_undefined() || v.is_callable() || v.is_namespace() || v.is_generator()) {
    throw RenderError(fmt::format("Object of type {} is not JSON serializable",
                                  v.is_undefined() ? "Undefined" : v.type_name()));
  }
  if (v.is_none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.as_int());
  } else if (v.is_float()) {
    const double d = v.as_number();
    out += std::isnan(d)   ? "NaN"
           : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity")
                           : python_float_repr(d);
  } else if (v.is_string()) {
    json_string(v.as_string(), out);
  } else if (v.is_list()) {
    const auto& items = v.as_list().items;
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += f.item_separator;
      newline(depth + 1);
      json_value(items[i], f, depth + 1, out);
    }
    newline(depth);
    out += ']';
  } else {
    std::vector<std::pair<std::string, const Value*>> items;
    for (const auto& [key, value] : v.as_dict().items) items.emplace_back(json_key(key), &value);
    if (items.empty()) {
      out += "{}";
      return;
    }
    if (f.sort_keys) {
      std::stable_sort(items.begin(), items.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out += '{';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += f.item_separator;
      newline(depth + 1);
      json_string(items[i].first, out);
      out += f.key_separator;
      json_value(*items[i].second, f, depth + 1, out);
    }
    newline(depth);
    out += '}';
  }
}

}  // namespace

Value Value::list(std::vector<Value> items, bool tuple) {
  auto list = std::make_shared<List>();
  list->items = std::move(items);
  list->tuple = tuple;
  return Value(std::move(list));
}

Value Value::markup(std::string s) {
  Value v(std::move(s));
  v.markup_ = true;
  return v;
}

Value Value::generator(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.as_list().generator = true;
  return v;
}

bool Value::is_generator() const {
  return is_list() && as_list().generator;
}

Value Value::dict() {
  return Value(std::make_shared<Dict>());
}

Value Value::namespace_object() {
  auto dict = std::make_shared<Dict>();
  dict->is_namespace = true;
  return Value(std::move(dict));
}

Value Value::function(std::string name, std::function<Value(Arguments&)> fn) {
  return Value(std::make_shared<Callable>(Callable{std::move(name), std::move(fn)}));
}

Value Value::from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value(nullptr);
    case nlohmann::ordered_json::value_t::boolean:
      return Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_float:
      return Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      for (const auto& item : json) items.push_back(from_json(item));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = dict();
      for (const auto& [key, item] : json.items()) d.as_dict().set(Value(key), from_json(item));
      return d;
    }
    default:
      return Value();  // binary, discarded: not produced by the JSON parser
  }
}

bool Value::is_dict() const {
  const auto* dict = std::get_if<std::shared_ptr<Dict>>(&data_);
  return dict != nullptr && !(*dict)->is_namespace;
}

bool Value::is_namespace() const {
  const auto* dict = std::get_if<std::shared_ptr<Dict>>(&data_);
  return dict != nullptr && (*dict)->is_namespace;
}

int64_t Value::as_int() const {
  if (is_bool()) return as_bool() ? 1 : 0;
  return std::get<int64_t>(data_);
}

double Value::as_number() const {
  if (is_float()) return std::get<double>(data_);
  return static_cast<double>(as_int());
}

std::string Value::type_name() const {
  if (is_undefined()) return "Undefined";
  if (is_none()) return "NoneType";
  if (is_bool()) return "bool";
  if (is_int()) return "int";
  if (is_float()) return "float";
  if (is_string()) return "str";
  if (is_list()) return as_list().generator ? "generator" : as_list().tuple ? "tuple" : "list";
  if (is_namespace()) return "Namespace";
  if (is_dict()) return "dict";
  return "function";
}

void Value::require_defined() const {
  if (is_undefined()) throw RenderError(as_undefined().hint);
}

bool Value::truthy() const {
  if (is_undefined() || is_none()) return false;
  if (is_bool()) return as_bool();
  if (is_int()) return as_int() != 0;
  if (is_float()) return as_number() != 0.0;
  if (is_string()) return !as_string().empty();
  if (is_list()) return as_list().generator || !as_list().items.empty();
  if (is_dict()) return !as_dict().items.empty();
  return true;
}

std::string Value::str() const {
  if (is_undefined()) return "";
  if (is_string()) return as_string();
  return repr();
}

std::string Value::repr() const {
  if (is_undefined()) return "";
  if (is_none()) return "None";
  if (is_bool()) return as_bool() ? "True" : "False";
  if (is_int()) return std::to_string(as_int());
  if (is_float()) return python_float_repr(as_number());
  if (is_string()) return string_repr(as_string());
  if (is_generator()) return "<generator object>";
  if (is_list()) {
    const List& l = as_list();
    std::string out = l.tuple ? "(" : "[";
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i > 0) out += ", ";
      out += l.items[i].repr();
    }
    if (l.tuple && l.items.size() == 1) out += ",";
    out += l.tuple ? ")" : "]";
    return out;
  }
  if (is_namespace()) return "<Namespace>";
  if (is_dict()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : as_dict().items) {
      if (!first) out += ", ";
      first = false;
      out += key.repr() + ": " + value.repr();
    }
    return out + "}";
  }
  return "<function " + as_callable().name + ">";
}

std::string Value::to_json(int indent, bool sort_keys,
                           std::optional<std::pair<std::string, std::string>> separators) const {
  JsonFormat f{indent, sort_keys, indent < 0 ? ", " : ",", ": "};
  if (separators) {
    f.item_separator = separators->first;
    f.key_separator = separators->second;
  }
  std::string out;
  json_value(*this, f, 0, out);
  return out;
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_number() == b.as_number();
    return a.as_int() == b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() == b.as_string();
  if (a.is_list() && b.is_list()) {
    const List& x = a.as_list();
    const List& y = b.as_list();
    if (x.generator || y.generator) return &x == &y;
    return x.tuple == y.tuple && x.items == y.items;
  }
  if (a.is_dict() && b.is_dict()) {
    const Dict& x = a.as_dict();
    const Dict& y = b.as_dict();
    if (x.items.size() != y.items.size()) return false;
    for (const auto& [key, value] : x.items) {
      const Value* other = y.find(key);
      if (other == nullptr || !(*other == value)) return false;
    }
    return true;
  }
  if (a.is_namespace() && b.is_namespace()) return &a.as_dict() == &b.as_dict();
  if (a.is_callable() && b.is_callable()) return &a.as_callable() == &b.as_callable();
  return false;
}

bool Value::less(const Value& a, const Value& b) {
  a.require_defined();
  b.require_defined();
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_number() < b.as_number();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple && !a.is_generator() &&
      !b.is_generator()) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!(x[i] == y[i])) return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw RenderError(fmt::format("'<' not supported between instances of '{}' and '{}'",
                                a.type_name(), b.type_name()));
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::set(const Value& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

Value Arguments::get(size_t index, std::string_view name, Value fallback) const {
  if (index < positional.size()) return positional[index];
  for (const auto& [key, value] : keyword) {
    if (key == name) return value;
  }
  return fallback;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form, then Python's layout: fixed for exponents in
  // [-4, 16), scientific (two exponent digits at least) otherwise.
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), v, std::chars_format::scientific);
  const std::string sci(buffer, result.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (const char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent + 1)) + "." +
             digits.substr(static_cast<size_t>(exponent + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  return out + fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
}

std::vector<std::string_view> utf8_characters(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    const size_t length = runtime::utf8_sequence_length(s, i);
    out.push_back(s.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace sherry::jinja
