// The values a Jinja template computes with, with Python's semantics where templates see them:
// truthiness, equality and ordering, str() (what {{ }} prints: None, True, 1.0, ['a', 1]) and
// json.dumps (the tojson filter, as Hugging Face's chat templates configure it). Lists and dicts
// are shared by reference like Python objects; dicts keep insertion order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sherry::jinja {

// A template error raised while rendering (raise_exception, a type error, an undefined value
// used): caught by Template::render and returned as an Error naming the template and line.
class RenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Value;
struct List;
struct Dict;
struct Callable;

// jinja2's Undefined: a missing name, attribute or item. Printing it gives "", iterating it
// nothing, `is defined` false; most other uses raise RenderError with `hint`.
struct Undefined {
  std::string hint;  // e.g. "'x' is undefined"
};

class Value {
 public:
  Value() = default;  // undefined
  Value(std::nullptr_t) : data_(nullptr) {}
  Value(bool b) : data_(b) {}
  Value(int v) : data_(static_cast<int64_t>(v)) {}
  Value(int64_t v) : data_(v) {}
  Value(double v) : data_(v) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::shared_ptr<List> list) : data_(std::move(list)) {}
  Value(std::shared_ptr<Dict> dict) : data_(std::move(dict)) {}
  Value(std::shared_ptr<Callable> callable) : data_(std::move(callable)) {}
  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  // A string marked safe (jinja2's Markup, from |safe or |escape): `markup + str` escapes the
  // str's HTML characters.
  static Value markup(std::string s);
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  // What map, select, reject, selectattr, rejectattr, unique and reverse return in jinja2: an
  // iterator over `items`, used up by one iteration, always true, neither a sequence nor JSON.
  static Value generator(std::vector<Value> items);
  static Value dict();
  static Value namespace_object();
  static Value function(std::string name, std::function<Value(struct Arguments&)> fn);
  // JSON → Value (objects keep their key order).
  static Value from_json(const nlohmann::ordered_json& json);

  bool is_undefined() const { return std::holds_alternative<Undefined>(data_); }
  bool is_none() const { return std::holds_alternative<std::nullptr_t>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_int() const { return std::holds_alternative<int64_t>(data_); }
  bool is_float() const { return std::holds_alternative<double>(data_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_markup() const { return is_string() && markup_; }
  bool is_list() const { return std::holds_alternative<std::shared_ptr<List>>(data_); }
  bool is_generator() const;
  bool is_dict() const;       // a mapping (not a namespace)
  bool is_namespace() const;  // namespace(): attributes only
  bool is_callable() const { return std::holds_alternative<std::shared_ptr<Callable>>(data_); }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const;    // int or bool
  double as_number() const;  // int, bool or float
  const std::string& as_string() const { return std::get<std::string>(data_); }
  List& as_list() const { return *std::get<std::shared_ptr<List>>(data_); }
  Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(data_); }  // dict or namespace
  Callable& as_callable() const { return *std::get<std::shared_ptr<Callable>>(data_); }
  const Undefined& as_undefined() const { return std::get<Undefined>(data_); }

  // Python's type name ("str", "list", "dict", "NoneType", ...), for messages.
  std::string type_name() const;
  // Raises the undefined value's error; a no-op for any other value.
  void require_defined() const;

  bool truthy() const;
  // Python's str(): what {{ value }} prints ("" for undefined).
  std::string str() const;
  // Python's repr() (strings quoted), used inside str() of lists and dicts.
  std::string repr() const;
  // json.dumps(value, ensure_ascii=False, indent=indent, separators=..., sort_keys=...): indent < 0
  // is None (", " and ": " separators); with an indent, "," and ": ". Raises for undefined and
  // callables.
  std::string to_json(int indent = -1, bool sort_keys = false,
                      std::optional<std::pair<std::string, std::string>> separators = {}) const;

  // Python ==.
  friend bool operator==(const Value& a, const Value& b);
  // Python <: numbers, strings, lists; raises RenderError for other pairs.
  static bool less(const Value& a, const Value& b);

 private:
  explicit Value(Undefined u) : data_(std::move(u)) {}
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Dict>, std::shared_ptr<Callable>>
      data_;
  bool markup_ = false;
};

struct List {
  std::vector<Value> items;
  bool tuple = false;      // prints as (a, b)
  bool generator = false;  // an iterator (Value::generator)
};

// Insertion-ordered; keys compared with Python ==. Small in templates: linear lookup.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  bool is_namespace = false;
  const Value* find(const Value& key) const;
  void set(const Value& key, Value value);
};

// Arguments of a call: positional, then keyword ones in the order written.
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument `name` at `index` (positional) or by keyword; `fallback` if neither.
  Value get(size_t index, std::string_view name, Value fallback = Value()) const;
};

struct Callable {
  std::string name;
  std::function<Value(Arguments&)> call;
};

// HTML escaping as jinja2's escape filter does it (& < > " ').
std::string html_escape(const std::string& s);
// Python's repr of a float (shortest round trip: 1.0, 0.1, 1e+16, 1.5e-07).
std::string python_float_repr(double v);
// Code points of a UTF-8 string (invalid bytes count one each), for len() and indexing.
std::vector<std::string_view> utf8_characters(std::string_view s);

}  // namespace sherry::jinja
